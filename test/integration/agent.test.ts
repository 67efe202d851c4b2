// The agent against a real broker, checked on the wire with kcat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { spawnMeter, runMeter, exited } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { kcatReadTopic, type WireMessage } from '../helpers/kcat.js';
import { recordProcBusy } from '../helpers/proc-stat.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS, type Sample } from '../../src/schema/sample.js';

let brokers = '';
before(async () => {
  brokers = await testBrokers();
});

const unique = (name: string) => `${name}_${process.pid}_${Date.now()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return () => out;
}

function validSamples(messages: WireMessage[]): Sample[] {
  return messages.map((m) => {
    const check = checkSample(m.payload, m.key, { now: Date.now(), lateLimitMs: DEFAULT_LATE_LIMIT_MS });
    assert.ok(check.ok, check.ok ? '' : `offset ${m.offset}: ${check.reason}`);
    return check.sample;
  });
}

function assertContiguous(samples: Sample[]): void {
  for (let i = 1; i < samples.length; i++) {
    assert.equal(samples[i]!.start, samples[i - 1]!.end, `window ${i} does not start where ${i - 1} ended`);
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Waits until the topic holds at least `count` messages (reading fails until the agent has created it). */
function waitForMessages(topic: string, count: number): Promise<true> {
  return waitFor(`${count} messages on ${topic}`, () => {
    try {
      return kcatReadTopic(brokers, topic).length >= count ? true : undefined;
    } catch {
      return undefined; // topic not created yet
    }
  });
}

const dirs: string[] = [];
/** A spool directory of this file's own, removed when its tests end. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meter-agent-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('agent publishes valid Sample v1 keyed by machine, windows contiguous, and exits 0 on SIGTERM', async () => {
  const topic = unique('agent_wire');
  const spool = tempDir();
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--machine', 'wire-1', '--label', 'team=search', '--label', 'env=test', '--spool', spool]);
  const output = collect(agent);
  await waitForMessages(topic, 5);
  const stoppedAt = Date.now();
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, output());
  assert.ok(Date.now() - stoppedAt < 5000, 'stops within a few seconds');

  const messages = kcatReadTopic(brokers, topic);
  const samples = validSamples(messages);
  assert.ok(samples.length >= 5);
  for (const m of messages) assert.equal(m.key, 'wire-1');
  // One machine, one partition: its samples stay in order.
  assert.equal(new Set(messages.map((m) => m.partition)).size, 1);
  assert.deepEqual(samples[0]!.labels, { team: 'search', env: 'test' });
  assertContiguous(samples);
  assert.equal(new Set(samples.map((s) => s.id)).size, samples.length);
  const totalBytes = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
  assert.equal(samples[0]!.mem.totalBytes, totalBytes);
});

test('a restarted agent continues where the last window ended', async () => {
  const topic = unique('agent_restart');
  const spool = tempDir();
  const args = ['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--machine', 'restart-1', '--spool', spool];
  for (let run = 0; run < 2; run++) {
    const agent = spawnMeter(args);
    const output = collect(agent);
    const want = (run + 1) * 3;
    await waitForMessages(topic, want);
    agent.kill('SIGTERM');
    assert.equal(await exited(agent), 0, output());
    await sleep(1500); // a gap between the runs that must still be metered
  }
  const samples = validSamples(kcatReadTopic(brokers, topic));
  assertContiguous(samples);
  const gap = samples.find((s) => s.end - s.start > 2000);
  assert.ok(gap, 'the first window after the restart spans the downtime');
});

test('--simulate publishes every virtual machine, each keyed by its name', async () => {
  const topic = unique('agent_sim');
  const spool = tempDir();
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--simulate', '40', '--spool', spool]);
  const output = collect(agent);
  await waitForMessages(topic, 80);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, output());
  const messages = kcatReadTopic(brokers, topic);
  const samples = validSamples(messages);
  const machines = new Set(samples.map((s) => s.machine));
  assert.equal(machines.size, 40);
  const partitionOf = new Map<string, number>();
  for (const m of messages) {
    assert.equal(partitionOf.get(m.key!) ?? m.partition, m.partition, `${m.key} moved partitions`);
    partitionOf.set(m.key!, m.partition);
  }
  assert.ok(new Set(partitionOf.values()).size > 1, 'machines spread over partitions');
  for (const machine of machines) assertContiguous(samples.filter((s) => s.machine === machine));
});

test('--simulate-spread publishes every virtual machine once an interval, at instants spread over it', async () => {
  const topic = unique('agent_sim_spread');
  const spool = tempDir();
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--simulate', '40', '--simulate-spread', '--spool', spool]);
  const output = collect(agent);
  await waitForMessages(topic, 120);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, output());
  const samples = validSamples(kcatReadTopic(brokers, topic));
  const byMachine = new Map<string, typeof samples>();
  for (const s of samples) byMachine.set(s.machine, [...(byMachine.get(s.machine) ?? []), s]);
  assert.equal(byMachine.size, 40);
  // Each machine's second window is a whole interval (its first starts at the agent's start), and
  // those windows end at different instants across the interval, not all at one (as in step).
  const seconds = [...byMachine.values()].map((list) => {
    assertContiguous(list);
    assert.ok(list.length >= 2, `${list[0]!.machine}: ${list.length} samples`);
    return list[1]!;
  });
  for (const s of seconds) assert.ok(Math.abs(s.end - s.start - 1000) <= 300, `${s.machine}: a window of ${s.end - s.start} ms`);
  const ends = seconds.map((s) => s.end);
  assert.ok(Math.max(...ends) - Math.min(...ends) >= 500, `second windows end within ${Math.max(...ends) - Math.min(...ends)} ms of each other`);
});

test('on a steady load the metered busy rate agrees with /proc/stat within 2%', async () => {
  const topic = unique('agent_accuracy');
  const spool = tempDir();
  // A known load: one child spinning for the whole measurement.
  const spinner = spawn(process.execPath, ['-e', 'const end = Date.now() + 15000; while (Date.now() < end) {}'], { stdio: 'ignore' });
  const proc = recordProcBusy(50);
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--machine', 'accuracy-1', '--spool', spool]);
  const output = collect(agent);
  try {
    await waitForMessages(topic, 8);
  } finally {
    agent.kill('SIGTERM');
    await exited(agent);
    proc.stop();
    spinner.kill();
  }
  const samples = validSamples(kcatReadTopic(brokers, topic)).slice(1, 8); // skip the start-up window
  assert.ok(samples.length >= 6, output());
  const from = samples[0]!.start;
  const to = samples.at(-1)!.end;
  const metered = samples.reduce((sum, s) => sum + s.cpu.busySeconds, 0) / ((to - from) / 1000);
  const reference = (proc.busyAt(to) - proc.busyAt(from)) / ((to - from) / 1000);
  assert.ok(reference > 0.5, `the spinner keeps at least half a core busy (${reference})`);
  const error = Math.abs(metered - reference) / reference;
  assert.ok(error < 0.02, `metered ${metered.toFixed(4)} vs /proc ${reference.toFixed(4)} busy cores: ${(error * 100).toFixed(2)}% apart`);
});

test('a spool directory that cannot be used is a one-line error, exit 2', () => {
  const dir = tempDir();
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, '');
  const r = runMeter(['agent', '--brokers', brokers, '--spool', join(file, 'spool')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^meter: --spool: cannot use .*not-a-dir\/spool \(ENOTDIR: not a directory\); give a directory this user can write\n$/);
});
