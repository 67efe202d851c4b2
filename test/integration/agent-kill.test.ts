// kill -9 at random instants under a steady CPU load: the windows on the wire tile time with no gap
// or overlap, and the busy core-seconds they add up to agree with /proc/stat within 1%.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { spawnMeter, exited } from '../helpers/cli.js';
import { testBrokers } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { recordProcBusy } from '../helpers/proc-stat.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS, type Sample } from '../../src/schema/sample.js';

// 24 kills, each 1-3.5 s: about a minute (32 put the suite over 20 minutes on a 2-core machine).
const KILLS = 24;
const dir = mkdtempSync(join(tmpdir(), 'meter-kill-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let spinner: ChildProcess | undefined;
let agent: ChildProcess | undefined;
let proc: ReturnType<typeof recordProcBusy> | undefined;

after(async () => {
  proc?.stop();
  spinner?.kill('SIGKILL');
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    agent.kill('SIGKILL');
    await exited(agent);
  }
  rmSync(dir, { recursive: true, force: true });
});

test(`SIGKILL at ${KILLS} random instants under load: windows tile time, busy within 1% of /proc/stat`, { timeout: 300_000 }, async () => {
  const brokers = await testBrokers();
  const topic = `kill_${process.pid}_${Date.now()}`;
  const spool = join(dir, 'spool');
  const args = ['agent', '--brokers', brokers, '--topic', topic, '--interval', '0.5', '--machine', 'kill-1', '--spool', spool];

  spinner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }); // a steady core's load
  proc = recordProcBusy(20);

  let log = '';
  const start = () => {
    const child = spawnMeter(args);
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    return child;
  };
  const started = (child: ChildProcess) =>
    new Promise<void>((resolve) => {
      const look = (d: Buffer) => {
        if (!String(d).includes('agent started')) return;
        child.stderr!.off('data', look);
        resolve();
      };
      child.stderr!.on('data', look);
    });
  for (let i = 0; i < KILLS; i++) {
    agent = start();
    // Most kills land while it samples and publishes (a random instant in its first 2.5 s of
    // sampling, at 0.5 s intervals); every eighth lands anywhere in its start-up.
    if (i % 8 === 7) await sleep(Math.random() * 1500);
    else await Promise.race([started(agent).then(() => sleep(Math.random() * 2500)), exited(agent)]);
    agent.kill('SIGKILL');
    await exited(agent);
  }
  // A last run that is let be: it replays what the others spooled and meters up to now.
  agent = start();
  const deadline = Date.now() + 90_000;
  let samples: Sample[] = [];
  let readError = '';
  for (;;) {
    await sleep(1000);
    try {
      samples = kcatReadTopic(brokers, topic).map((m) => {
        const c = checkSample(m.payload, m.key, { now: Date.now(), lateLimitMs: DEFAULT_LATE_LIMIT_MS });
        assert.ok(c.ok, c.ok ? '' : c.reason);
        return c.sample;
      });
      readError = '';
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      readError = (error as Error).message;
    }
    const newest = samples.length > 0 ? Math.max(...samples.map((s) => s.end)) : -Infinity;
    if (Date.now() - newest < 1500) break;
    const ends = Number.isFinite(newest) ? new Date(newest).toISOString() : 'none';
    assert.ok(Date.now() < deadline, `the last agent did not catch up (newest window ends ${ends}; last kcat error: ${readError || 'none'}): ${log.slice(-2000)}`);
  }
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log.slice(-2000));
  proc.stop();
  spinner.kill('SIGKILL');

  // A repeat (an acknowledgement lost to a kill) is the same sample again: same id, same body.
  const byId = new Map<string, string>();
  for (const s of samples) {
    const body = JSON.stringify(s);
    assert.equal(byId.get(s.id) ?? body, body, `id ${s.id} repeated with a different body`);
    byId.set(s.id, body);
  }
  const unique = [...byId.values()].map((b) => JSON.parse(b) as Sample).sort((a, b) => a.start - b.start);
  for (let i = 1; i < unique.length; i++) {
    assert.equal(unique[i]!.start, unique[i - 1]!.end, `gap or overlap before window ${i} (${unique[i]!.id})`);
  }
  const runs = new Set(unique.map((s) => s.id.split(':')[1]));
  assert.ok(runs.size >= KILLS / 2, `samples from ${runs.size} agent runs: most kills landed after a sample`);

  const from = unique[0]!.start;
  const to = unique.at(-1)!.end;
  const metered = unique.reduce((sum, s) => sum + s.cpu.busySeconds, 0);
  const reference = proc.busyAt(to) - proc.busyAt(from);
  assert.ok(reference > (to - from) / 1000, `the load kept at least one core busy (${reference} core-s over ${(to - from) / 1000} s)`);
  const error = Math.abs(metered - reference) / reference;
  assert.ok(error < 0.01, `metered ${metered.toFixed(2)} vs /proc/stat ${reference.toFixed(2)} busy core-seconds: ${(error * 100).toFixed(2)}% apart`);
});
