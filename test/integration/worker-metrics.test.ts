// The worker's figures against the truth, on a real broker: lag in the status line (a worker on a
// terminal), the JSON progress log and `--metrics` (parsed by prometheus_client) is the topic's end
// offset (read with kcat) minus the ledger's next offset (read from the ledger file), also while the
// worker has fetched ahead of a ledger that cannot write; and its samples/s is within 5% of a fleet's
// known rate, published in bursts as `agent --simulate` does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { freePort, testBrokers } from '../helpers/broker.js';
import { kcatEndOffsets } from '../helpers/kcat.js';
import { exited, meterArgv, repoRoot, spawnMeter } from '../helpers/cli.js';
import { parsePrometheus, sampleValue, samplesOf, scrape, type Families } from '../helpers/prometheus.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor, type WorkerProcess } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await exited(c);
    }
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Reading {
  at: number;
  samplesPerSecond: number;
  lag: number;
}

/** `meter worker` on a terminal of its own (script(1)'s pseudo-terminal, 220 columns): its status lines, as drawn. */
function startTtyWorker(args: { topic: string; group: string; ledger: string }): { child: ChildProcess; statusLines: Reading[]; output: () => string } {
  const argv = ['worker', '--brokers', brokers, '--topic', args.topic, '--group', args.group, '--ledger', args.ledger, '--session-timeout', '6'];
  const command = `stty cols 220 rows 40; exec ${[process.execPath, ...meterArgv(argv)].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, METER_HOME: mkdtempSync(join(tmpdir(), 'meter-home-')), METER_LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const statusLines: Reading[] = [];
  let output = '';
  const status = new RegExp(`^${args.group} <- ${args.topic}  ([\\d,]+) samples/s  lag ([\\d,]+) `);
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
    for (const segment of d.toString().split('\r\x1b[K')) {
      const m = status.exec(segment);
      if (m) statusLines.push({ at: Date.now(), samplesPerSecond: Number(m[1]!.replace(/,/g, '')), lag: Number(m[2]!.replace(/,/g, '')) });
    }
  });
  return { child, statusLines, output: () => output };
}

/** The worker's JSON progress lines so far. */
function progressLines(worker: WorkerProcess): (Reading & { lagByPartition: Record<string, number> })[] {
  return worker
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"progress"'))
    .map((l) => JSON.parse(l) as { time: string; samplesPerSecond: number; lag: number; lagByPartition: Record<string, number> })
    .map((p) => ({ at: Date.parse(p.time), samplesPerSecond: p.samplesPerSecond, lag: p.lag, lagByPartition: p.lagByPartition }));
}

async function metrics(port: number): Promise<Families> {
  return parsePrometheus(await scrape(`http://127.0.0.1:${port}/metrics`));
}

/** The truth: kcat's end offset minus the ledger's next offset, per partition. */
async function trueLag(ledger: string, group: string, topic: string, partitions: number): Promise<Map<number, number>> {
  const ends = kcatEndOffsets(brokers, topic, partitions);
  const offsets = (await statsOf(ledger))!.offsets.filter((o) => o.group === group && o.topic === topic);
  return new Map([...ends].map(([p, end]) => [p, end - (offsets.find((o) => o.partition === p)?.nextOffset ?? 0)]));
}

const lagMetrics = (f: Families) => new Map(samplesOf(f, 'meter_worker_lag_messages').map((s) => [Number(s.labels.partition), s.value]));

test('lag is the topic end minus the ledger, in the status line, the progress log and the metrics, while the worker has fetched far ahead of a ledger that cannot write', { timeout: 240_000 }, async () => {
  const topic = uniqueName('worker-lag');
  const group = uniqueName('billing');
  const ttyGroup = uniqueName('billing-tty');
  const dir = mkdtempSync(join(tmpdir(), 'meter-worker-metrics-'));
  const ledger = join(dir, 'ledger.db');
  const ttyLedger = join(dir, 'tty-ledger.db');
  await createTopic(brokers, topic, 3);
  const port = await freePort();
  // Small fetches: many batches, so kafkajs has several in hand when the ledger stops.
  const worker = startWorker({ brokers, topic, group, ledger, extra: ['--metrics', `127.0.0.1:${port}`, '--fetch-max-kb', '64'] });
  children.push(worker.child);
  const tty = startTtyWorker({ topic, group: ttyGroup, ledger: ttyLedger });
  const locks: Database.Database[] = [];
  try {
    // Both have claimed their three partitions in their ledgers: nothing more is written until batches come.
    const claimed = async (path: string, g: string) => ((await statsOf(path))?.offsets.filter((o) => o.group === g).length ?? 0) === 3;
    await waitFor('partitions claimed', async () => (await claimed(ledger, group)) && (await claimed(ttyLedger, ttyGroup)), 90_000, () => worker.output() + tty.output());
    await waitFor('metrics served', async () => /"msg":"worker started"/.test(worker.output()) && sampleValue(await metrics(port), 'meter_worker_partitions_assigned') === 3, 30_000, worker.output);

    // The ledgers stop taking writes (a writer holds them: readers still read, as in WAL they may).
    for (const path of [ledger, ttyLedger]) {
      const db = new Database(path);
      db.exec('BEGIN IMMEDIATE');
      locks.push(db);
    }
    const now = Date.now();
    const valid = Array.from({ length: 3000 }, (_, i) => makeSample({ machine: `m${i % 30}`, seq: i, start: now - 3_600_000 + i * 1000 }));
    const messages = [
      ...valid.map((s) => ({ key: s.machine, value: JSON.stringify(s) })),
      ...valid.slice(0, 40).map((s) => ({ key: s.machine, value: JSON.stringify(s) })), // duplicates
      ...Array.from({ length: 25 }, (_, i) => ({ key: `junk-${i}`, value: `not json ${i}` })),
      ...Array.from({ length: 15 }, (_, i) => ({ key: `v2-${i}`, value: JSON.stringify({ ...valid[i], v: 2 }) })),
    ];
    kcatProduce(brokers, topic, messages);
    const total = messages.length;

    // The worker has read the end offsets and fetched ahead: every figure is the ledger's distance from the end.
    await waitFor('the end offsets read', async () => sampleValue(await metrics(port), 'meter_worker_log_end_offset', { partition: '0' }) !== undefined &&
      samplesOf(await metrics(port), 'meter_worker_log_end_offset').reduce((a, s) => a + s.value, 0) === total, 30_000, worker.output);
    const truth = await trueLag(ledger, group, topic, 3);
    assert.equal([...truth.values()].reduce((a, b) => a + b, 0), total, 'nothing is in the ledger');
    const during = await metrics(port);
    assert.deepEqual(lagMetrics(during), truth, 'meter_worker_lag_messages per partition');
    assert.equal(sampleValue(during, 'meter_worker_samples_inserted_total'), 0);
    await waitFor('a progress line with that lag', () => progressLines(worker).some((p) => p.lag === total), 30_000, worker.output);
    const line = progressLines(worker).find((p) => p.lag === total)!;
    assert.deepEqual(line.lagByPartition, Object.fromEntries([...truth].map(([p, v]) => [String(p), v])));
    await waitFor('the status line with that lag', () => tty.statusLines.at(-1)?.lag === total, 30_000, tty.output);
    // The transactions waiting on the lock give up (SQLite's busy timeout) and are counted.
    await waitFor('a failed transaction', () => /ledger transaction failed/.test(worker.output()), 60_000, worker.output);
    assert.ok(sampleValue(await metrics(port), 'meter_worker_ledger_errors_total')! >= 1);
    assert.deepEqual(lagMetrics(await metrics(port)), truth, 'still the truth after failed transactions');

    for (const db of locks.splice(0)) {
      db.exec('ROLLBACK');
      db.close();
    }
    await waitFor('everything billed', async () => (await appliedCount(ledger, group)) === total && (await appliedCount(ttyLedger, ttyGroup)) === total, 90_000, worker.output);
    await waitFor('lag 0 everywhere', async () => [...lagMetrics(await metrics(port)).values()].every((v) => v === 0) && tty.statusLines.at(-1)?.lag === 0, 30_000, worker.output);
    const done = await metrics(port);
    assert.deepEqual(await trueLag(ledger, group, topic, 3), new Map([[0, 0], [1, 0], [2, 0]]));
    const stats = (await statsOf(ledger))!;
    assert.equal(sampleValue(done, 'meter_worker_samples_inserted_total'), stats.samples);
    assert.equal(stats.samples, 3000);
    assert.equal(sampleValue(done, 'meter_worker_samples_duplicate_total'), 40);
    assert.equal(sampleValue(done, 'meter_worker_dlq_messages_total', { reason: 'not-json' }), 25);
    assert.equal(samplesOf(done, 'meter_worker_dlq_messages_total').reduce((a, s) => a + s.value, 0), 40);
    const batches = sampleValue(done, 'meter_worker_batches_total')!;
    assert.ok(batches >= 3, `${batches} batches`);
    assert.equal(sampleValue(done, 'meter_worker_transaction_seconds_count'), batches);
    assert.ok(sampleValue(done, 'meter_worker_transaction_seconds_sum')! > 0);
    assert.equal(sampleValue(done, 'meter_worker_broker_connected'), 1);
    assert.equal(sampleValue(done, 'meter_worker_partitions_stopped'), 0);
    assert.ok(Math.abs(Date.now() / 1000 - sampleValue(done, 'meter_worker_last_batch_timestamp_seconds')!) < 60);
    assert.equal(sampleValue(done, 'meter_worker_lag_messages', { partition: '0', group, topic }), 0, 'series name their group and topic');
    await waitFor('a progress line with lag 0', () => progressLines(worker).at(-1)?.lag === 0, 30_000, worker.output);

    // A second member joins the group: a rebalance, and the partitions are shared.
    const rebalancesBefore = sampleValue(done, 'meter_worker_rebalances_total')!;
    assert.ok(rebalancesBefore >= 1);
    const second = startWorker({ brokers, topic, group, ledger });
    children.push(second.child);
    await waitFor('partitions shared', async () => sampleValue(await metrics(port), 'meter_worker_partitions_assigned')! < 3, 60_000, () => worker.output() + second.output());
    const shared = await metrics(port);
    assert.ok(sampleValue(shared, 'meter_worker_rebalances_total')! > rebalancesBefore);
    assert.equal(lagMetrics(shared).size, sampleValue(shared, 'meter_worker_partitions_assigned'), 'lag only for the partitions it holds');
    assert.equal(await stopWorker(second), 0, second.output());
    await waitFor('partitions back', async () => sampleValue(await metrics(port), 'meter_worker_partitions_assigned') === 3, 60_000, worker.output);
  } finally {
    for (const db of locks) db.close();
    tty.child.kill('SIGTERM');
    assert.equal(await stopWorker(worker), 0, worker.output());
    await exited(tty.child);
  }
});

test('samples/s is within 5% of a fleet publishing 2,000 samples every 2.5 s (800/s), in the status line, the progress log and the metrics', { timeout: 300_000 }, async () => {
  const topic = uniqueName('worker-rate');
  const group = uniqueName('billing');
  const ttyGroup = uniqueName('billing-tty');
  const dir = mkdtempSync(join(tmpdir(), 'meter-worker-rate-'));
  await createTopic(brokers, topic, 3);
  const [agentPort, workerPort] = [await freePort(), await freePort()];
  const machines = 2000;
  const intervalSeconds = 2.5;
  const rate = machines / intervalSeconds;
  const worker = startWorker({ brokers, topic, group, ledger: join(dir, 'ledger.db'), extra: ['--metrics', `127.0.0.1:${workerPort}`] });
  children.push(worker.child);
  const tty = startTtyWorker({ topic, group: ttyGroup, ledger: join(dir, 'tty-ledger.db') });
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--simulate', String(machines), '--interval', String(intervalSeconds), '--spool', join(dir, 'spool'), '--metrics', `127.0.0.1:${agentPort}`], {
    env: { ...process.env, METER_HOME: dir },
  });
  children.push(agent);
  let agentLog = '';
  agent.stderr!.on('data', (d) => (agentLog += d));
  const published = async () => sampleValue(parsePrometheus(await scrape(`http://127.0.0.1:${agentPort}/metrics`)), 'meter_agent_samples_published_total') ?? 0;
  const inserted = async () => sampleValue(await metrics(workerPort), 'meter_worker_samples_inserted_total') ?? 0;
  const started = async () => /"msg":"worker started"/.test(worker.output()) && (await inserted()) > 0;
  try {
    await waitFor('samples flowing', async () => (await started()) && (tty.statusLines.at(-1)?.samplesPerSecond ?? 0) > 0, 90_000, () => worker.output() + agentLog);
    // A full window of the flow (30 s), then 25 s of readings: at least two progress lines (one
    // every 10 s while samples flow) and 25 status lines. (40 s of them put the suite over 20 minutes.)
    await sleep(32_000);
    const from = Date.now();
    const [published0, inserted0] = [await published(), await inserted()];
    await sleep(25_000);
    const to = Date.now();
    const [published1, inserted1] = [await published(), await inserted()];
    const seconds = (to - from) / 1000;
    // The agent kept its pace: what it published over the 25 s is the rate, give or take the one burst an edge may cut.
    assert.ok(Math.abs(published1 - published0 - rate * seconds) <= machines, `the agent published ${published1 - published0} in ${seconds} s: not steady at ${rate}/s; ${agentLog}`);
    const off = (r: number) => Math.abs(r - rate) / rate;
    // Prometheus's own view: the counter's increase over the same 25 s.
    assert.ok(Math.abs(inserted1 - inserted0 - rate * seconds) <= machines, `metrics: ${inserted1 - inserted0} inserted in ${seconds} s`);

    const logged = progressLines(worker).filter((p) => p.at >= from && p.at <= to);
    assert.ok(logged.length >= 2, `${logged.length} progress lines`);
    for (const p of logged) assert.ok(off(p.samplesPerSecond) < 0.05, `progress log: ${p.samplesPerSecond}/s for ${rate}/s`);
    const drawn = tty.statusLines.filter((s) => s.at >= from && s.at <= to);
    assert.ok(drawn.length >= 20, `${drawn.length} status lines`);
    const within = drawn.filter((s) => off(s.samplesPerSecond) < 0.05);
    const rates = drawn.map((s) => s.samplesPerSecond).sort((a, b) => a - b);
    const median = rates[rates.length >> 1]!;
    assert.ok(off(median) < 0.02, `status line median ${median}/s for ${rate}/s: ${rates.join(' ')}`);
    assert.ok(within.length >= 0.9 * drawn.length, `status line: ${within.length} of ${drawn.length} readings within 5% of ${rate}/s: ${drawn.map((s) => s.samplesPerSecond).join(' ')}`);
  } finally {
    agent.kill('SIGTERM');
    tty.child.kill('SIGTERM');
    await Promise.all([exited(agent), exited(tty.child)]);
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
});
