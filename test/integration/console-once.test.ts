// `meter console --once --json` against a real broker, a simulated fleet of 40 and a real worker:
// every machine is listed with its costs, and the lag per partition is what Apache Kafka's own
// kafka-consumer-groups tool reports for the group at the same moment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { meterArgv, repoRoot, spawnMeter, exited } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { runConsumerGroupsTool } from '../../src/kafka/local-broker.js';
import { parseDecimal } from '../../src/billing/money.js';
import { createKafka } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';
import Database from 'better-sqlite3';

let brokers = '';
const dir = mkdtempSync(join(tmpdir(), 'meter-console-it-'));
const children: ChildProcess[] = [];
const env = { ...process.env, METER_HOME: dir, METER_LOG_LEVEL: 'warn' };

before(async () => {
  brokers = await testBrokers();
});
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** Runs meter to completion without blocking the event loop. */
function meter(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, meterArgv(args), { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface OnceJson {
  machines: { machine: string; cpu: number | null; mem: number | null; lastSeen: string | null; stale: boolean; costPerHour: string | null; periodCost: string | null }[];
  lag: { topic: string; partition: number; committed: number | null; end: number; lag: number | null; status: string }[];
  totals: { machines: number; periodCost: string | null; costPerHour: string | null; broker: string; ledger: string };
}

/** kafka-consumer-groups --describe: partition -> [current offset, log end offset, lag]. */
function parseDescribe(stdout: string, topic: string): Map<number, { current: number | null; end: number; lag: number | null }> {
  const rows = new Map<number, { current: number | null; end: number; lag: number | null }>();
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] !== topic) continue;
    const n = (v: string | undefined) => (v === undefined || v === '-' ? null : Number(v));
    rows.set(Number(cols[2]), { current: n(cols[3]), end: Number(cols[4]), lag: n(cols[5]) });
  }
  return rows;
}

test('console --once --json lists all 40 machines with costs, and its lag equals kafka-consumer-groups', { timeout: 240_000 }, async () => {
  const suffix = `${process.pid}_${Date.now()}`;
  const topic = `console_once_${suffix}`;
  const group = `billing_${suffix}`;
  const ledger = join(dir, 'ledger.db');
  const kafka = ['--brokers', brokers, '--topic', topic];

  const agent = spawnMeter(['agent', '--simulate', '40', '--interval', '1', '--spool', join(dir, 'spool'), ...kafka], { env });
  children.push(agent);
  // The worker starts once the agent has made the topic (a worker that finds no topic exits; that is
  // the worker's own behaviour, not what this test is about).
  const admin = createKafka({ brokers: brokers.split(','), clientId: 'meter-test' }, silentLogger).admin();
  await admin.connect();
  try {
    const until = Date.now() + 60_000;
    while (!(await admin.listTopics()).includes(topic)) {
      assert.ok(Date.now() < until, `the agent did not create ${topic} within 60 s`);
      await sleep(200);
    }
  } finally {
    await admin.disconnect();
  }
  const worker = spawnMeter(['worker', '--group', group, '--ledger', ledger, ...kafka], { env });
  children.push(worker);
  let workerLog = '';
  worker.stderr?.on('data', (d) => (workerLog += d));
  agent.stderr?.resume();
  agent.stdout?.resume();
  worker.stdout?.resume();

  const once = async (extra: string[] = []): Promise<OnceJson> => {
    const r = await meter(['console', '--once', '--json', '--interval', '1', '--group', group, '--ledger', ledger, ...kafka, ...extra]);
    assert.equal(r.code, 0, `console --once failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as OnceJson;
  };

  // Every machine listed, billed and fresh (the worker needs a few seconds to catch up first).
  let snapshot: OnceJson | undefined;
  const deadline = Date.now() + 90_000;
  for (;;) {
    snapshot = await once();
    const billed = snapshot.machines.filter((m) => m.periodCost !== null && Number(m.periodCost) > 0 && !m.stale);
    if (snapshot.machines.length === 40 && billed.length === 40) break;
    assert.ok(Date.now() < deadline, `not every machine billed in time: ${JSON.stringify(snapshot.totals)}\n${workerLog.slice(-2000)}`);
    await sleep(1000);
  }
  assert.equal(snapshot.totals.machines, 40);
  assert.equal(snapshot.totals.broker, 'connected');
  assert.equal(snapshot.totals.ledger, 'ok');
  assert.equal(new Set(snapshot.machines.map((m) => m.machine)).size, 40);
  for (const m of snapshot.machines) {
    assert.match(m.machine, /^sim-\w+-\d\d$/);
    assert.ok(m.cpu !== null && m.cpu >= 0 && m.cpu <= 100, `${m.machine} cpu ${m.cpu}`);
    assert.ok(m.mem !== null && m.mem > 0 && m.mem <= 100, `${m.machine} mem ${m.mem}`);
    assert.match(m.costPerHour!, /^\d+\.\d{6}$/);
    assert.match(m.periodCost!, /^\d+\.\d{6}$/);
    assert.ok(m.lastSeen && Date.now() - Date.parse(m.lastSeen) < 10_000);
  }
  // Money adds up exactly: the period total is the sum of the machines' period costs.
  const sum = snapshot.machines.reduce((s, m) => s + parseDecimal(m.periodCost, 6)!, 0n);
  assert.equal(parseDecimal(snapshot.totals.periodCost, 6), sum);
  assert.equal(snapshot.lag.length, 3, 'three partitions');

  // stdout not a terminal (a pipe) and no --once: one plain-text snapshot, and a word on stderr.
  const piped = await meter(['console', '--interval', '1', '--group', group, '--ledger', ledger, ...kafka]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.match(piped.stderr, /stdout is not a terminal, so this is one snapshot; .* ssh -t host meter console/);
  assert.doesNotMatch(piped.stdout, /\u001b\[/, 'no escape codes in a pipe');
  assert.equal(piped.stdout.split('\n').filter((l) => /^  sim-\w+-\d\d .*\$[\d.]+ +\$[\d.]+ +\d+s ago/.test(l)).length, 40, piped.stdout);
  assert.match(piped.stdout, /PARTITION +COMMITTED +END +LAG/);

  // Freeze the offsets: stop the worker (it commits and leaves), let lag build up, stop the agent.
  worker.kill('SIGTERM');
  assert.equal(await exited(worker), 0, workerLog.slice(-2000));

  // The live source. With the worker stopped and the agent still publishing, the topic holds newer
  // windows than the ledger: --live-from topic shows them, the default (the SQLite ledger's accepted
  // samples) shows only what is billed. The ledger is read here with SQLite itself.
  await sleep(1500);
  const [fromLedger, fromTopic] = await Promise.all([once(), once(['--live-from', 'topic'])]);
  const db = new Database(ledger, { readonly: true });
  const billedEnd = new Map(
    db.prepare('SELECT r.machine, max(s.start_ms + s.window_ms) FROM samples s JOIN runs r ON r.id = s.run GROUP BY r.machine').raw().all() as [string, number][],
  );
  db.close();
  assert.equal(billedEnd.size, 40);
  const seen = (m: OnceJson['machines'][number]) => (m.lastSeen === null ? 0 : Date.parse(m.lastSeen));
  assert.equal(fromLedger.machines.length, 40);
  for (const m of fromLedger.machines) assert.ok(seen(m) <= billedEnd.get(m.machine)!, `${m.machine}: ${m.lastSeen} is past the ledger's last window`);
  const unbilled = fromTopic.machines.filter((m) => seen(m) > billedEnd.get(m.machine)!);
  assert.ok(unbilled.length >= 20, `the topic's newer windows: only ${unbilled.length} of 40 machines`);
  await sleep(1500);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0);

  // The same moment: both read the group while nothing moves.
  const [ours, tool] = await Promise.all([
    once(),
    runConsumerGroupsTool(['--bootstrap-server', brokers, '--describe', '--group', group], { timeoutMs: 120_000 }),
  ]);
  assert.equal(tool.code, 0, tool.stderr);
  const theirs = parseDescribe(tool.stdout, topic);
  assert.equal(theirs.size, 3, tool.stdout);
  let lagged = 0;
  for (const p of ours.lag) {
    const t = theirs.get(p.partition);
    assert.ok(t, `partition ${p.partition} missing from the tool's output:\n${tool.stdout}`);
    assert.deepEqual({ committed: p.committed, end: p.end, lag: p.lag }, { committed: t.current, end: t.end, lag: t.lag }, `partition ${p.partition}`);
    if ((p.lag ?? 0) > 0) {
      lagged++;
      // Nobody consumes and the offsets do not move: Burrow's STOP.
      assert.equal(p.status, 'STOP', `partition ${p.partition}`);
    }
  }
  assert.ok(lagged > 0, 'the stopped worker left some lag to compare');
});

test('--live-from ledger with a PostgreSQL ledger is one line and exit 2, before any connection', async () => {
  const r = await meter(['console', '--once', '--json', '--live-from', 'ledger', '--ledger', 'postgres://meter@127.0.0.1:1/meter', '--brokers', '127.0.0.1:1']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^meter: --live-from ledger: a PostgreSQL ledger .*\(--live-from topic/);
});
