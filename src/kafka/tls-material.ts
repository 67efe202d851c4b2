// Certificates and keys for a secured local broker (`meter kafka start --secure`, the test harness):
// a CA of its own, a broker certificate it signs for 127.0.0.1, and a client certificate for mutual
// TLS. Made once per directory with Debian's openssl and reused on every later start. Keys and the
// keystore password are readable by their owner only, and no secret ever goes on a command line
// (openssl reads the keystore password from its environment).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MeterError } from '../cli/errors.js';

export interface TlsMaterial {
  dir: string;
  /** PEM: the CA that signs the broker's and the client's certificates (give it to --tls-ca). */
  caFile: string;
  /** PKCS12 keystore of the broker: its key, its certificate and the CA's. */
  brokerKeystore: string;
  /** File holding the keystore's password. */
  keystorePasswordFile: string;
  /** PEM certificate and key of a client the broker trusts (for --tls-cert / --tls-key). */
  clientCertFile: string;
  clientKeyFile: string;
}

/** The host the broker certificate is made for: its listeners bind and advertise this address. */
export const BROKER_CERT_HOST = '127.0.0.1';
const DAYS = 825;

export function tlsMaterialFiles(dir: string): TlsMaterial {
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    brokerKeystore: join(dir, 'broker.p12'),
    keystorePasswordFile: join(dir, 'keystore.password'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client.key'),
  };
}

function openssl(args: string[], env: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (result.error) {
    throw new MeterError('openssl not found: install it (apt-get install openssl) to make the certificates of a secured broker');
  }
  if (result.status !== 0) {
    const why = result.stderr.split('\n').find((l) => l.trim()) ?? `exit ${result.status}`;
    throw new MeterError(`openssl ${args[0]} failed making TLS material: ${why.trim()}`);
  }
}

/** A key and a certificate signed by the CA in dir, with the given extensions. */
function signedCertificate(dir: string, name: string, subject: string, extensions: string): void {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  writeFileSync(ext, extensions, { mode: 0o600 });
  const serial = `0x${randomBytes(16).toString('hex')}`;
  openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-set_serial', serial, '-days', String(DAYS), '-out', join(dir, `${name}.pem`), '-extfile', ext]);
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
}

/**
 * The TLS material in dir, made now if it is not there yet (a half-made dir, from an interrupted
 * run, is made again from scratch).
 */
export function ensureTlsMaterial(dir: string): TlsMaterial {
  const files = tlsMaterialFiles(dir);
  const complete = join(dir, '.complete');
  if (existsSync(complete)) return files;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'ca.key'), '-out', files.caFile, '-days', String(DAYS),
    '-subj', `/CN=meter local CA ${randomBytes(4).toString('hex')}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  signedCertificate(dir, 'broker', `/CN=${BROKER_CERT_HOST}`, `subjectAltName=IP:${BROKER_CERT_HOST}\nextendedKeyUsage=serverAuth\n`);
  signedCertificate(dir, 'client', '/CN=meter-client', 'extendedKeyUsage=clientAuth\n');
  const password = randomBytes(18).toString('base64url');
  writeFileSync(files.keystorePasswordFile, `${password}\n`, { mode: 0o600 });
  openssl(
    ['pkcs12', '-export', '-in', join(dir, 'broker.pem'), '-inkey', join(dir, 'broker.key'), '-certfile', files.caFile, '-name', 'broker', '-out', files.brokerKeystore, '-passout', 'env:METER_KEYSTORE_PASSWORD'],
    { METER_KEYSTORE_PASSWORD: password },
  );
  writeFileSync(complete, '', { mode: 0o600 });
  return files;
}

export function readKeystorePassword(material: TlsMaterial): string {
  return readFileSync(material.keystorePasswordFile, 'utf8').trim();
}
