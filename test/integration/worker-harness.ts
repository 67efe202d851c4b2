// Shared by the worker integration tests: a real topic, samples produced with kcat, `meter worker`
// run as a child process, and the ledger read the way `meter invoice` reads it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKafka, ensureTopic } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';
import { openLedger } from '../../src/ledger/index.js';
import { ledgerStats, type LedgerStats } from '../../src/billing/index.js';
import { meterArgv, repoRoot, spawnMeter } from '../helpers/cli.js';
import type { TestHost } from '../helpers/netns.js';

export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
}

export async function createTopic(brokers: string, topic: string, partitions = 3): Promise<void> {
  const admin = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic, partitions, silentLogger);
  } finally {
    await admin.disconnect();
  }
}

/** Kafka's committed offsets of a group, per partition. */
export async function committedOffsets(brokers: string, group: string, topic: string): Promise<Map<number, number>> {
  const admin = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map(offsets!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

export { kcatProduce } from '../helpers/kcat.js';

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

export function startWorker(args: {
  brokers: string;
  topic: string;
  group: string;
  ledger: string;
  extra?: string[];
  /** Run it on this test host (a network namespace) instead of here. */
  host?: TestHost;
  /** Added to the environment (PGPASSWORD for a PostgreSQL ledger). */
  env?: NodeJS.ProcessEnv;
}): WorkerProcess {
  const argv = [
      'worker',
      '--brokers',
      args.brokers,
      '--topic',
      args.topic,
      '--group',
      args.group,
      '--ledger',
      args.ledger,
      '--session-timeout',
      '6',
      ...(args.extra ?? []),
  ];
  const env = { ...process.env, ...args.env, METER_HOME: mkdtempSync(join(tmpdir(), 'meter-home-')), METER_LOG_LEVEL: 'info' };
  const child = args.host ? args.host.spawn(process.execPath, meterArgv(argv), { cwd: repoRoot, env }) : spawnMeter(argv, { env });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

/** The ledger's stats, or undefined while the worker has not created it yet. */
export async function statsOf(ledgerPath: string): Promise<LedgerStats | undefined> {
  let ledger;
  try {
    ledger = await openLedger(ledgerPath, { readonly: true });
  } catch {
    return undefined;
  }
  try {
    return await ledgerStats(ledger);
  } finally {
    await ledger.close();
  }
}

/** Messages the ledger has applied for a group (the sum of its next offsets, from offset 0). */
export async function appliedCount(ledgerPath: string, group: string): Promise<number> {
  const stats = await statsOf(ledgerPath);
  return stats ? stats.offsets.filter((o) => o.group === group).reduce((a, o) => a + o.nextOffset, 0) : 0;
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `: ${describe()}` : ''}`);
    await sleep(100);
  }
}

/** Stops a worker with SIGTERM once it has started (before that, node's default handler would end it). */
export async function stopWorker(worker: WorkerProcess, timeoutMs = 30_000): Promise<number | null> {
  if (worker.child.exitCode === null) {
    await waitFor('the worker to start', () => /"msg":"worker started"/.test(worker.output()) || worker.child.exitCode !== null, 60_000, worker.output);
  }
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), timeoutMs);
  try {
    return await worker.exited;
  } finally {
    clearTimeout(timer);
  }
}
