// The set-up check and its classifier against stand-ins for a broker's port (no broker needed): a TLS
// server with a certificate from a CA the client does or does not trust, for another host name, and
// nothing listening. Each answer comes at once: no retries stand between a refusal and its line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkKafkaConnection } from '../../src/kafka/check-connection.js';
import { KafkaSetupError } from '../../src/kafka/problems.js';
import { ensureTlsMaterial } from '../../src/kafka/tls-material.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-problems-'));
const servers: (Server | TlsServer)[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A TLS server presenting the broker certificate of a fresh CA (made for 127.0.0.1), closing every connection. */
async function tlsPort(): Promise<{ port: number; ca: string }> {
  const material = ensureTlsMaterial(join(dir, `ca-${servers.length}`));
  const cert = readFileSync(join(material.dir, 'broker.pem'));
  const key = readFileSync(join(material.dir, 'broker.key'));
  const server = createTlsServer({ key, cert }, (socket) => socket.end());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, ca: readFileSync(material.caFile, 'utf8') };
}

async function expectSetup(connection: Parameters<typeof checkKafkaConnection>[0], kind: string, line: RegExp): Promise<void> {
  const started = Date.now();
  await assert.rejects(checkKafkaConnection(connection, 10_000), (error: unknown) => {
    assert.ok(error instanceof KafkaSetupError, String(error));
    assert.equal(error.kind, kind);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, line);
    return true;
  });
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
}

test('a certificate from a CA not given, or not known, is tls-untrusted', async () => {
  const { port } = await tlsPort();
  const other = await tlsPort();
  const brokers = [`127.0.0.1:${port}`];
  await expectSetup({ brokers, clientId: 't', ssl: true }, 'tls-untrusted', /is not signed by a CA meter trusts \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
  await expectSetup({ brokers, clientId: 't', ssl: { ca: [other.ca] } }, 'tls-untrusted', /give the broker's CA certificate with --tls-ca FILE/);
});

test('a certificate for another host name is tls-hostname', async () => {
  const { port, ca } = await tlsPort();
  await expectSetup({ brokers: [`localhost:${port}`], clientId: 't', ssl: { ca: [ca] } }, 'tls-hostname', /is for another host name \(ERR_TLS_CERT_ALTNAME_INVALID\)/);
});

test('plaintext to a port that speaks TLS is told apart from an outage by asking the port', async () => {
  const { port } = await tlsPort();
  // kafkajs sees the connection closed on its first request, as from a broker going down.
  await expectSetup({ brokers: [`127.0.0.1:${port}`], clientId: 't' }, 'plaintext-to-tls-port', /speaks TLS: add --tls/);
});

test('nothing listening, or a port that closes plaintext connections, is an outage, answered at once', async () => {
  const closer = createServer((socket) => socket.destroy());
  servers.push(closer);
  await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
  const address = closer.address();
  const closing = typeof address === 'object' && address ? address.port : 0;
  const started = Date.now();
  const refused = await checkKafkaConnection({ brokers: ['127.0.0.1:1'], clientId: 't' }, 10_000);
  assert.equal(refused.ok, false);
  assert.ok(Date.now() - started < 3000);
  const closed = await checkKafkaConnection({ brokers: [`127.0.0.1:${closing}`], clientId: 't' }, 2000);
  assert.equal(closed.ok, false);
  assert.equal(closed.ok === false && closed.problem.setup, false);
});
