// The real Kafka broker of the integration tests. test/run.mjs starts a private one once and exports
// METER_TEST_BROKERS; a test file run on its own starts its own through the same code as `meter kafka
// start`. A test that must take a broker down (outages) starts one of its own too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalBroker, stopLocalBroker, type LocalBrokerInfo, type SecureBrokerInfo, type StopResult } from '../../src/kafka/local-broker.js';

const repoRoot = join(fileURLToPath(import.meta.url), '..', '..', '..');

/**
 * The bootstrap address of the shared test broker: the runner's (METER_TEST_BROKERS), or, for a test
 * file run on its own, a private one started here and stopped when the process exits. Never the
 * user's own broker.
 */
export async function testBrokers(): Promise<string> {
  const fromRunner = process.env.METER_TEST_BROKERS;
  if (fromRunner) return fromRunner;
  const broker = await startPrivateBroker();
  process.env.METER_TEST_BROKERS = broker.brokers;
  process.once('exit', () => {
    // Synchronous at exit: signal the broker's process group; its temporary data dir goes with it.
    spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), 'kafka', 'stop', '--data-dir', broker.dataDir], { stdio: 'ignore' });
    rmSync(broker.dataDir, { recursive: true, force: true });
  });
  return broker.brokers;
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

/**
 * The secured listeners of a test broker: the runner's (METER_TEST_SECURE, JSON), or, when the runner
 * was given a broker of the user's (METER_TEST_BROKERS) or a file runs on its own, a private secured
 * broker started here and stopped when the process exits.
 */
export async function testSecureBroker(): Promise<SecureBrokerInfo> {
  const fromRunner = process.env.METER_TEST_SECURE;
  if (fromRunner) return JSON.parse(fromRunner) as SecureBrokerInfo;
  const broker = await startPrivateBroker({ secure: true });
  process.once('exit', () => {
    spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts'), 'kafka', 'stop', '--data-dir', broker.dataDir], { stdio: 'ignore' });
    rmSync(broker.dataDir, { recursive: true, force: true });
  });
  process.env.METER_TEST_SECURE = JSON.stringify(broker.secure);
  return broker.secure!;
}

/** n distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
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
  /** With { secure: true }: its secured listeners, CA, client certificate and password file. */
  secure?: SecureBrokerInfo;
}

/**
 * A broker of a test's own, on free ports with a temporary data dir, started once before returning.
 * Cheap after the first fetch: the jars are shared; a start takes a few seconds.
 */
export async function startPrivateBroker(opts: { secure?: boolean; host?: string } = {}): Promise<PrivateBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'meter-kafka-'));
  const [port, controllerPort, saslSslPort, mtlsPort, saslPlaintextPort] = await freePorts(opts.secure ? 5 : 2);
  const secure = opts.secure ? { saslSslPort: saslSslPort!, mtlsPort: mtlsPort!, saslPlaintextPort: saslPlaintextPort! } : undefined;
  // host: listen on and advertise that address (the root end of a test host's veth), not 127.0.0.1.
  const options = { dataDir, port: port!, controllerPort: controllerPort!, secure, host: opts.host };
  const broker: PrivateBroker = {
    brokers: `${opts.host ?? '127.0.0.1'}:${port}`,
    dataDir,
    port: port!,
    controllerPort: controllerPort!,
    start: () => startLocalBroker(options),
    stop: () => stopLocalBroker(options),
    dispose: async () => {
      await stopLocalBroker(options);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    broker.secure = (await broker.start()).secure;
  } catch (error) {
    await broker.dispose();
    throw error;
  }
  return broker;
}
