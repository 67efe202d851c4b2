// `meter up --headless` end to end against real brokers: it bills this host and the fleet, SIGTERM
// leaves no child behind, a broker it started is stopped, and a broker already running is left alone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { spawnMeter, exited } from '../helpers/cli.js';
import { freePort, testBrokers } from '../helpers/broker.js';
import { brokerAnswers, portInUse } from '../../src/kafka/local-broker.js';
import { openSqliteLedger } from '../../src/ledger/sqlite/sqlite-ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Processes of one `up`: its children carry the unique topic in their arguments, and the broker it
 * started carries the unique METER_HOME in its own.
 */
function processesOf(topic: string, home: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => (line.includes(`--topic ${topic} `) || line.includes(home)) && !line.includes('ps -eo'));
}

/** A test that fails half-way must not leave an up (and its children) running. */
function killLeftovers(topic: string, home: string): void {
  for (const line of processesOf(topic, home)) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Machines billed in the ledger so far (empty while the worker has not created it). */
function billedMachines(path: string): string[] {
  if (!existsSync(path)) return [];
  try {
    const ledger = openSqliteLedger(path, { readonly: true });
    try {
      return (ledger.db.prepare('SELECT DISTINCT r.machine FROM samples s JOIN runs r ON r.id = s.run').all() as { machine: string }[]).map((r) => r.machine);
    } finally {
      ledger.db.close();
    }
  } catch {
    return [];
  }
}

async function runUp(brokers: string, home: string, topic: string) {
  after(() => killLeftovers(topic, home));
  const child = spawnMeter(['up', '--headless', '--brokers', brokers, '--topic', topic, '--group', `${topic}_billing`, '--fleet', '6', '--interval', '1'], {
    env: { ...process.env, METER_HOME: home },
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const ledger = join(home, 'ledger.db');
  const deadline = Date.now() + 120_000;
  let machines: string[] = [];
  while (Date.now() < deadline) {
    machines = billedMachines(ledger);
    if (machines.includes(hostname()) && machines.filter((m) => m.startsWith('sim-')).length === 6) break;
    if (child.exitCode !== null) break;
    await sleep(1000);
  }
  return { child, output: () => output, machines };
}

test('up --headless starts a broker when none answers, bills host and fleet, and stops all it started', { timeout: 240_000 }, async () => {
  const home = mkdtempSync(join(tmpdir(), 'meter-up-own-'));
  let port = await freePort();
  while (await portInUse('127.0.0.1', port + 1)) port = await freePort();
  const brokers = `127.0.0.1:${port}`;
  const { child, output, machines } = await runUp(brokers, home, 'up_own');
  assert.ok(machines.includes(hostname()), `this host is billed: ${machines.join(',')}\n${output()}`);
  assert.equal(machines.filter((m) => m.startsWith('sim-')).length, 6, output());
  assert.match(output(), /no broker at .*; starting a local Apache Kafka/);
  assert.match(output(), /worker logs to .*worker\.log/);
  const before = processesOf('up_own', home);
  assert.ok(before.length >= 5, `up, broker, worker, agent and fleet run:\n${before.join('\n')}`);

  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
  assert.deepEqual(processesOf('up_own', home), [], 'no process of this up is left');
  assert.equal(await brokerAnswers(brokers, 2000), false, 'the broker it started is stopped');
});

test('up --headless uses a broker that already runs and leaves it running', { timeout: 180_000 }, async () => {
  const brokers = await testBrokers();
  const home = mkdtempSync(join(tmpdir(), 'meter-up-shared-'));
  const topic = `up_shared_${Date.now()}`;
  const { child, output, machines } = await runUp(brokers, home, topic);
  assert.ok(machines.includes(hostname()), output());
  assert.match(output(), /using the broker already running/);
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, output());
  assert.deepEqual(processesOf(topic, home), []);
  assert.equal(await brokerAnswers(brokers, 5000), true, 'the broker is left running');
});
