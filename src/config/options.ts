// Flags shared by several commands. Precedence is yargs's own: flags, then METER_* environment
// variables (src/config/env-options.ts), then the --config file, then these defaults.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type { Options } from 'yargs';
import { UsageError } from '../cli/errors.js';
import type { KafkaConnection } from '../kafka/client.js';
import type { ConfiguredArgv } from './resolve.js';

export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const DEFAULT_TOPIC = 'resource_usage';
export const DEFAULT_GROUP = 'billing';

export const kafkaFlags = {
  brokers: {
    type: 'string',
    default: DEFAULT_BROKERS,
    describe: 'Kafka bootstrap brokers, comma-separated host:port',
    group: 'Kafka:',
  },
  topic: { type: 'string', default: DEFAULT_TOPIC, describe: 'Topic carrying Sample v1 messages', group: 'Kafka:' },
  tls: { type: 'boolean', default: false, describe: "Connect with TLS (trusting the system's CAs)", group: 'Kafka:' },
  'tls-ca': { type: 'string', describe: 'PEM file of CA certificates to trust (implies --tls)', group: 'Kafka:' },
  'tls-cert': { type: 'string', describe: 'PEM client certificate for mutual TLS (with --tls-key; implies --tls)', group: 'Kafka:' },
  'tls-key': { type: 'string', describe: 'PEM private key of --tls-cert', group: 'Kafka:' },
  'sasl-mechanism': {
    type: 'string',
    choices: ['plain', 'scram-sha-256', 'scram-sha-512'],
    describe: 'SASL mechanism for managed Kafka',
    group: 'Kafka:',
  },
  'sasl-username': { type: 'string', describe: 'SASL user name', group: 'Kafka:' },
  'sasl-password-file': {
    type: 'string',
    describe: 'File holding the SASL password (or set METER_SASL_PASSWORD); never printed',
    group: 'Kafka:',
  },
  'allow-plaintext-sasl': {
    type: 'boolean',
    default: false,
    describe: 'Allow SASL PLAIN without TLS, which sends the password in clear (refused otherwise)',
    group: 'Kafka:',
  },
} satisfies Record<string, Options>;

export interface KafkaArgv extends ConfiguredArgv {
  brokers: string;
  tls: boolean;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'sasl-mechanism'?: string;
  'sasl-username'?: string;
  'sasl-password-file'?: string;
  'allow-plaintext-sasl'?: boolean;
}

/** The environment variable that may hold the SASL password (no flag takes it). */
export const SASL_PASSWORD_ENV = 'METER_SASL_PASSWORD';

export function parseBrokers(value: string): string[] {
  if (typeof value !== 'string') throw new UsageError('--brokers: give host:port, comma-separated (e.g. 127.0.0.1:9092)');
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError('--brokers: give at least one host:port, e.g. 127.0.0.1:9092');
  for (const b of brokers) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new UsageError(`--brokers: "${b}" is not host:port (e.g. 127.0.0.1:9092)`);
    }
  }
  return brokers;
}

function readFlagFile(flag: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory' : 'unreadable';
    throw new UsageError(`--${flag}: cannot read ${path} (${why}); give ${what}`);
  }
}

/** --tls-ca / --tls-cert / --tls-key, read and checked now, so a bad file is a flag error and not a TLS failure later. */
function tlsOptions(argv: KafkaArgv): KafkaConnection['ssl'] {
  const caPath = argv['tls-ca'];
  const certPath = argv['tls-cert'];
  const keyPath = argv['tls-key'];
  if (Boolean(certPath) !== Boolean(keyPath)) {
    throw new UsageError(certPath ? '--tls-cert needs --tls-key (the PEM private key of the certificate)' : '--tls-key needs --tls-cert (the PEM client certificate)');
  }
  if (!caPath && !certPath) return argv.tls ? true : undefined;
  const ssl: ConnectionOptions = {};
  if (caPath) {
    const ca = readFlagFile('tls-ca', caPath, 'a PEM file of CA certificates');
    try {
      new X509Certificate(ca);
    } catch {
      throw new UsageError(`--tls-ca: ${caPath} holds no PEM certificate; give the CA certificate (-----BEGIN CERTIFICATE-----)`);
    }
    ssl.ca = [ca];
  }
  if (certPath && keyPath) {
    const cert = readFlagFile('tls-cert', certPath, 'a PEM client certificate');
    const key = readFlagFile('tls-key', keyPath, "a PEM private key");
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new UsageError(`--tls-cert: ${certPath} holds no PEM certificate`);
    }
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new UsageError(`--tls-key: ${keyPath} is not an unencrypted PEM private key`);
    }
    if (!x509.checkPrivateKey(privateKey)) throw new UsageError(`--tls-key: ${keyPath} is not the key of the certificate in --tls-cert ${certPath}`);
    ssl.cert = cert;
    ssl.key = key;
  }
  return ssl;
}

function saslOptions(argv: KafkaArgv, tls: boolean): KafkaConnection['sasl'] {
  const mechanism = argv['sasl-mechanism'];
  const username = argv['sasl-username'];
  if (!mechanism) {
    if (username || argv['sasl-password-file']) throw new UsageError(`--${username ? 'sasl-username' : 'sasl-password-file'} needs --sasl-mechanism (plain, scram-sha-256 or scram-sha-512)`);
    return undefined;
  }
  if (!username) throw new UsageError('--sasl-username is required with --sasl-mechanism');
  if (mechanism === 'plain' && !tls && !argv['allow-plaintext-sasl']) {
    throw new UsageError('--sasl-mechanism plain without TLS would send the password in clear: add --tls (or --tls-ca), or --allow-plaintext-sasl if you mean it');
  }
  let password = argv.meter.saslPassword;
  const file = argv['sasl-password-file'];
  if (file) password = readFlagFile('sasl-password-file', file, 'a file holding the password').replace(/\r?\n$/, '');
  if (!password) {
    throw new UsageError(file ? `--sasl-password-file: ${file} is empty` : `SASL needs a password: set ${SASL_PASSWORD_ENV} or give --sasl-password-file FILE`);
  }
  return { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
}

export function kafkaConnectionFromArgv(argv: KafkaArgv, clientId: string): KafkaConnection {
  const brokers = parseBrokers(argv.brokers);
  const ssl = tlsOptions(argv);
  const sasl = saslOptions(argv, Boolean(ssl));
  return { brokers, clientId, ssl, sasl };
}

/**
 * The connection flags again, for a child process (`meter up`): paths, never the password, which
 * reaches the child through its file or the environment it is spawned with.
 */
export function kafkaSecurityArgs(argv: KafkaArgv): string[] {
  const args: string[] = [];
  if (argv.tls) args.push('--tls');
  for (const flag of ['tls-ca', 'tls-cert', 'tls-key', 'sasl-mechanism', 'sasl-username', 'sasl-password-file'] as const) {
    const value = argv[flag];
    if (value) args.push(`--${flag}`, flag.endsWith('file') || flag.startsWith('tls-') ? resolve(value) : value);
  }
  if (argv['allow-plaintext-sasl']) args.push('--allow-plaintext-sasl');
  return args;
}

/** Parses a positive number flag; yargs only checks that it is a number. */
export function positive(name: string, value: number, { integer = false, max = Infinity } = {}): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)) || value > max) {
    const what = integer ? 'a positive integer' : 'a positive number';
    throw new UsageError(`--${name}: ${JSON.stringify(value)} is not allowed; give ${what}${max < Infinity ? ` up to ${max}` : ''}`);
  }
  return value;
}
