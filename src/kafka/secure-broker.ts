// The secured listeners of a local broker (`meter kafka start --secure`, the test harness): beside
// the plaintext listener, the same broker serves
//   SASL_SSL        SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN over TLS (what managed Kafka looks like),
//   SSL             mutual TLS: a client certificate signed by the broker's CA is required,
//   SASL_PLAINTEXT  SCRAM and PLAIN without TLS (for trying --allow-plaintext-sasl).
// One user, `meter`, with a random password in a file readable by its owner only. The SCRAM
// credentials are created when the storage is formatted (KRaft keeps them in its metadata log);
// the password reaches the format tool through an argument file, never a command line.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ensureTlsMaterial, readKeystorePassword, BROKER_CERT_HOST, type TlsMaterial } from './tls-material.js';

export const SASL_USER = 'meter';
export const SECURE_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;

export interface SecurePorts {
  /** SASL_SSL: SCRAM or PLAIN over TLS. */
  saslSslPort: number;
  /** SSL with a required client certificate. */
  mtlsPort: number;
  /** SASL_PLAINTEXT: SASL without TLS. */
  saslPlaintextPort: number;
}

export interface SecureBrokerInfo extends SecurePorts {
  /** The same broker's plaintext listener. */
  plaintextBrokers: string;
  saslSslBrokers: string;
  mtlsBrokers: string;
  saslPlaintextBrokers: string;
  /** PEM of the CA that signed the broker certificate: --tls-ca. */
  caFile: string;
  /** A client certificate and key the mutual-TLS listener accepts: --tls-cert, --tls-key. */
  clientCertFile: string;
  clientKeyFile: string;
  username: string;
  /** The user's password, in a file readable by its owner only: --sasl-password-file. */
  passwordFile: string;
  mechanisms: readonly string[];
}

export interface SecureMaterial {
  tls: TlsMaterial;
  username: string;
  passwordFile: string;
}

export const secureDir = (dataDir: string): string => join(dataDir, 'secure');
/** Present once the storage was formatted with the SCRAM user. */
export const scramFormattedMarker = (dataDir: string): string => join(secureDir(dataDir), '.scram-formatted');

/** The TLS material and the user's password file of a data dir, made the first time. */
export function ensureSecureMaterial(dataDir: string): SecureMaterial {
  const dir = secureDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tls = ensureTlsMaterial(join(dir, 'tls'));
  const passwordFile = join(dir, `${SASL_USER}.password`);
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  return { tls, username: SASL_USER, passwordFile };
}

export function readPassword(material: SecureMaterial): string {
  return readFileSync(material.passwordFile, 'utf8').trim();
}

/** The format tool's --add-scram arguments: both SCRAM mechanisms for the one user. */
export function scramFormatArgs(material: SecureMaterial): string[] {
  const password = readPassword(material);
  return ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name="${material.username}",password="${password}"]`]);
}

export function secureListeners(ports: SecurePorts): { listeners: string[]; protocols: string[] } {
  return {
    listeners: [`SASL_SSL://${BROKER_CERT_HOST}:${ports.saslSslPort}`, `SSL://${BROKER_CERT_HOST}:${ports.mtlsPort}`, `SASL_PLAINTEXT://${BROKER_CERT_HOST}:${ports.saslPlaintextPort}`],
    protocols: ['SASL_SSL:SASL_SSL', 'SSL:SSL', 'SASL_PLAINTEXT:SASL_PLAINTEXT'],
  };
}

/** server.properties lines for the secured listeners (the file is owner-only: it holds passwords). */
export function secureServerProperties(material: SecureMaterial): string {
  const password = readPassword(material);
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${material.username}="${password}";`;
  const keystorePassword = readKeystorePassword(material.tls);
  const lines = [
    '# Secured listeners (meter kafka start --secure): TLS from a CA of this data dir, SCRAM users made at format time.',
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${material.tls.brokerKeystore}`,
    `ssl.keystore.password=${keystorePassword}`,
    `ssl.key.password=${keystorePassword}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${material.tls.caFile}`,
    'listener.name.ssl.ssl.client.auth=required',
  ];
  for (const listener of ['sasl_ssl', 'sasl_plaintext']) {
    lines.push(`listener.name.${listener}.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN`);
    lines.push(`listener.name.${listener}.scram-sha-256.sasl.jaas.config=${scram}`);
    lines.push(`listener.name.${listener}.scram-sha-512.sasl.jaas.config=${scram}`);
    lines.push(`listener.name.${listener}.plain.sasl.jaas.config=${plain}`);
  }
  return `${lines.join('\n')}\n`;
}

export function secureBrokerInfo(material: SecureMaterial, ports: SecurePorts, plaintextPort: number): SecureBrokerInfo {
  const at = (port: number) => `${BROKER_CERT_HOST}:${port}`;
  return {
    ...ports,
    plaintextBrokers: at(plaintextPort),
    saslSslBrokers: at(ports.saslSslPort),
    mtlsBrokers: at(ports.mtlsPort),
    saslPlaintextBrokers: at(ports.saslPlaintextPort),
    caFile: material.tls.caFile,
    clientCertFile: material.tls.clientCertFile,
    clientKeyFile: material.tls.clientKeyFile,
    username: material.username,
    passwordFile: material.passwordFile,
    mechanisms: SECURE_MECHANISMS,
  };
}
