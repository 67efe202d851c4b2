// What went wrong talking to Kafka, told apart by type: kafkajs's error classes and Node's TLS error
// codes, not the wording of messages. A set-up problem (refused credentials, an untrusted or
// mismatched certificate, TLS against a plaintext port and the reverse) will not heal by retrying:
// agent, worker, console and `up` end on it with one line and exit 2. A broker that is merely not
// there (refused, timed out) is an outage: the agent spools, the console reconnects.
//
// Two cases look alike on the wire and are told apart by asking the port (diagnoseKafkaError): a TLS
// handshake cut short may be a plaintext port or a broker going down; a connection closed after a
// plaintext request may be a TLS port or a broker going down.
import { connect as tlsConnect } from 'node:tls';
import kafkajs from 'kafkajs';
import { MeterError } from '../cli/errors.js';
import { probeBroker } from './broker-probe.js';
import type { KafkaConnection } from './client.js';

export type KafkaProblemKind =
  | 'credentials-refused'
  | 'sasl-not-enabled'
  | 'tls-untrusted'
  | 'tls-expired'
  | 'tls-hostname'
  | 'tls-client-cert'
  | 'tls-to-plaintext-port'
  | 'plaintext-to-tls-port'
  | 'unreachable';

export interface KafkaProblem {
  kind: KafkaProblemKind;
  /** A set-up problem: retrying cannot help, the user must change flags or files. */
  setup: boolean;
  /** One line for people: what was wrong and what to do. Never holds a secret. */
  message: string;
}

/** A Kafka set-up problem as an error the CLI prints as one line, exiting 2. */
export class KafkaSetupError extends MeterError {
  constructor(
    message: string,
    readonly kind: KafkaProblemKind,
  ) {
    super(message, 2);
  }
}

// kafkajs is CommonJS and spreads its error classes into its exports, which Node's named-export
// detection cannot see: they are read from the default export.
// (Its typings also lack KafkaJSConnectionClosedError and the connection error's `code`.)
type ErrorClass = abstract new (...args: never[]) => Error;
const { KafkaJSConnectionClosedError, KafkaJSConnectionError, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs as unknown as Record<
  'KafkaJSConnectionClosedError' | 'KafkaJSConnectionError' | 'KafkaJSProtocolError' | 'KafkaJSSASLAuthenticationError',
  ErrorClass
>;
/** Node's error code (a socket or TLS failure) that kafkajs keeps on its connection errors. */
const codeOf = (e: unknown): string => String((e as { code?: unknown }).code ?? '');

/** Node's codes for a server certificate that does not chain to a trusted CA. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** TLS alerts a broker sends when it wants a client certificate or does not accept the one given. */
const CLIENT_CERT_ALERTS = new Set([
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
]);
/** kafkajs's protocol error for a SASL request on a listener without SASL. */
const ILLEGAL_SASL_STATE = 'ILLEGAL_SASL_STATE';

/** The error and what it wraps (kafkajs keeps the first failure as `cause` after its retries). */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e && out.length < 8 && !out.includes(e); e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

function brokerOf(errors: unknown[], connection: KafkaConnection): string {
  for (const e of errors) {
    const broker = (e as { broker?: unknown }).broker;
    if (typeof broker === 'string' && broker) return broker;
  }
  return connection.brokers.join(',');
}

const usesTls = (c: KafkaConnection): boolean => Boolean(c.ssl);
const hasClientCert = (c: KafkaConnection): boolean => typeof c.ssl === 'object' && Boolean(c.ssl.cert);

/**
 * What the error means, from its types alone. A handshake cut short or a connection closed by the
 * broker comes back as 'unreachable' here; diagnoseKafkaError asks the port to be sure.
 */
export function classifyKafkaError(error: unknown, connection: KafkaConnection): KafkaProblem {
  const errors = chain(error);
  const at = brokerOf(errors, connection);
  const setup = (kind: KafkaProblemKind, message: string): KafkaProblem => ({ kind, setup: true, message });
  for (const e of errors) {
    if (e instanceof KafkaJSSASLAuthenticationError) {
      const who = connection.sasl ? `user "${connection.sasl.username}" (${connection.sasl.mechanism.toUpperCase()})` : 'the login';
      return setup(
        'credentials-refused',
        `Kafka at ${at} refused the SASL login of ${who}: wrong password, unknown user, or a mechanism the broker does not offer; check --sasl-username, --sasl-mechanism and the password (METER_SASL_PASSWORD or --sasl-password-file)`,
      );
    }
    if (e instanceof KafkaJSProtocolError && (e as { type?: string }).type === ILLEGAL_SASL_STATE) {
      return setup('sasl-not-enabled', `Kafka at ${at} does not use SASL on this port: drop --sasl-mechanism, or give the broker's SASL port in --brokers`);
    }
    if (!(e instanceof KafkaJSConnectionError)) continue;
    const code = codeOf(e);
    if (UNTRUSTED.has(code)) {
      return setup(
        'tls-untrusted',
        `the TLS certificate of Kafka at ${at} is not signed by a CA meter trusts (${code}): give the broker's CA certificate with --tls-ca FILE`,
      );
    }
    if (EXPIRED.has(code)) return setup('tls-expired', `the TLS certificate of Kafka at ${at} is not valid now (${code}): the broker needs a current certificate`);
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return setup(
        'tls-hostname',
        `the TLS certificate of Kafka at ${at} is for another host name (${code}): connect with a name the certificate lists in --brokers`,
      );
    }
    if (CLIENT_CERT_ALERTS.has(code)) {
      return setup(
        'tls-client-cert',
        hasClientCert(connection)
          ? `Kafka at ${at} did not accept the client certificate of --tls-cert (${code}): give one signed by a CA the broker trusts`
          : `Kafka at ${at} requires a client certificate (${code}): give --tls-cert FILE and --tls-key FILE`,
      );
    }
  }
  return { kind: 'unreachable', setup: false, message: `cannot reach Kafka at ${at}: ${firstLine(error)}` };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
}

/** The handshake was cut short (TLS client) or the broker closed the connection (plaintext client). */
function ambiguous(error: unknown, connection: KafkaConnection): { broker: string } | undefined {
  const errors = chain(error);
  for (const e of errors) {
    if (usesTls(connection) && e instanceof KafkaJSConnectionError && codeOf(e) === 'ECONNRESET') return { broker: brokerOf(errors, connection) };
    if (!usesTls(connection) && e instanceof KafkaJSConnectionClosedError) return { broker: brokerOf(errors, connection) };
  }
  return undefined;
}

/** Nobody listens at the broker's address (ECONNREFUSED): an outage, known at once. */
export function connectionRefused(error: unknown): boolean {
  return chain(error).some((e) => codeOf(e) === 'ECONNREFUSED');
}

/** True when a TLS handshake completes at address (whoever signed the certificate). */
export function speaksTls(address: string, timeoutMs = 2000): Promise<boolean> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false });
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** classifyKafkaError, and for the two look-alike failures, a question to the port itself. */
export async function diagnoseKafkaError(error: unknown, connection: KafkaConnection): Promise<KafkaProblem> {
  const problem = classifyKafkaError(error, connection);
  if (problem.setup) return problem;
  const suspect = ambiguous(error, connection);
  if (!suspect) return problem;
  const { broker } = suspect;
  if (usesTls(connection) && (await probeBroker(broker, 2000))) {
    return { kind: 'tls-to-plaintext-port', setup: true, message: `Kafka at ${broker} is a plaintext port, not TLS: drop --tls/--tls-ca, or give the broker's TLS port in --brokers` };
  }
  if (!usesTls(connection) && (await speaksTls(broker))) {
    return { kind: 'plaintext-to-tls-port', setup: true, message: `Kafka at ${broker} speaks TLS: add --tls (and --tls-ca FILE for a private CA), or give the broker's plaintext port in --brokers` };
  }
  return problem;
}

/** The set-up problem behind error as a KafkaSetupError, or undefined when it is an outage (or not Kafka's). */
export async function setupError(error: unknown, connection: KafkaConnection): Promise<KafkaSetupError | undefined> {
  if (error instanceof KafkaSetupError) return error;
  const problem = await diagnoseKafkaError(error, connection);
  return problem.setup ? new KafkaSetupError(problem.message, problem.kind) : undefined;
}
