// Flags shared by several commands. Precedence is yargs's own: flags, then METER_* environment
// variables (.env('METER') in cli.ts), then the --config file, then these defaults.
import { readFileSync } from 'node:fs';
import type { Options } from 'yargs';
import { UsageError } from '../cli/errors.js';
import type { KafkaConnection } from '../kafka/client.js';

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
  tls: { type: 'boolean', default: false, describe: 'Connect with TLS', group: 'Kafka:' },
  'tls-ca': { type: 'string', describe: 'PEM file of CA certificates to trust (implies --tls)', group: 'Kafka:' },
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
} satisfies Record<string, Options>;

export interface KafkaArgv {
  brokers: string;
  tls: boolean;
  'tls-ca'?: string;
  'sasl-mechanism'?: string;
  'sasl-username'?: string;
  'sasl-password-file'?: string;
}

export function parseBrokers(value: string): string[] {
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

export function kafkaConnectionFromArgv(argv: KafkaArgv, clientId: string): KafkaConnection {
  const brokers = parseBrokers(argv.brokers);
  let ssl: KafkaConnection['ssl'];
  if (argv['tls-ca']) {
    try {
      ssl = { ca: [readFileSync(argv['tls-ca'], 'utf8')] };
    } catch {
      throw new UsageError(`--tls-ca: cannot read ${argv['tls-ca']}; give a readable PEM file`);
    }
  } else if (argv.tls) {
    ssl = true;
  }
  let sasl: KafkaConnection['sasl'];
  const mechanism = argv['sasl-mechanism'];
  if (mechanism) {
    const username = argv['sasl-username'];
    if (!username) throw new UsageError('--sasl-username is required with --sasl-mechanism');
    let password = process.env.METER_SASL_PASSWORD;
    if (argv['sasl-password-file']) {
      try {
        password = readFileSync(argv['sasl-password-file'], 'utf8').trim();
      } catch {
        throw new UsageError(`--sasl-password-file: cannot read ${argv['sasl-password-file']}`);
      }
    }
    if (!password) {
      throw new UsageError('SASL needs a password: set METER_SASL_PASSWORD or --sasl-password-file');
    }
    sasl = { mechanism: mechanism as 'plain' | 'scram-sha-256' | 'scram-sha-512', username, password };
  }
  return { brokers, clientId, ssl, sasl };
}

/** Parses a positive number flag; yargs only checks that it is a number. */
export function positive(name: string, value: number, { integer = false, max = Infinity } = {}): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)) || value > max) {
    const what = integer ? 'a positive integer' : 'a positive number';
    throw new UsageError(`--${name}: ${JSON.stringify(value)} is not allowed; give ${what}${max < Infinity ? ` up to ${max}` : ''}`);
  }
  return value;
}
