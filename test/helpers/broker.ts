// The real Kafka broker of the integration tests. test/run.mjs starts the shared one once and exports
// METER_TEST_BROKERS; a test file run on its own starts it (or finds it running) through the same code
// as `meter kafka start`. A test that must take a broker down (outages) starts a private one.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalBroker, stopLocalBroker, type LocalBrokerInfo, type StopResult } from '../../src/kafka/local-broker.js';

/** The bootstrap address of the shared test broker, starting it when nothing provides one. */
export async function testBrokers(): Promise<string> {
  const fromRunner = process.env.METER_TEST_BROKERS;
  if (fromRunner) return fromRunner;
  // Left running afterwards: other test files (and developers) reuse it; `meter kafka stop` ends it.
  const info = await startLocalBroker();
  process.env.METER_TEST_BROKERS = info.brokers;
  return info.brokers;
}

/** A TCP port nobody listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateBroker {
  brokers: string;
  dataDir: string;
  port: number;
  controllerPort: number;
  /** Starts it (again): same data dir and ports, so topics and committed offsets survive a stop. */
  start(): Promise<LocalBrokerInfo>;
  /** Stops it (SIGTERM); the data stays for a later start. */
  stop(): Promise<StopResult>;
  /** Stops it and removes its data dir. */
  dispose(): Promise<void>;
}

/**
 * A broker of a test's own, on free ports with a temporary data dir, started once before returning.
 * Cheap after the first fetch: the jars are shared; a start takes a few seconds.
 */
export async function startPrivateBroker(): Promise<PrivateBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meter-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const options = { dataDir, port, controllerPort };
  const broker: PrivateBroker = {
    brokers: `127.0.0.1:${port}`,
    dataDir,
    port,
    controllerPort,
    start: () => startLocalBroker(options),
    stop: () => stopLocalBroker(options),
    dispose: async () => {
      await stopLocalBroker(options);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await broker.start();
  } catch (error) {
    await broker.dispose();
    throw error;
  }
  return broker;
}
