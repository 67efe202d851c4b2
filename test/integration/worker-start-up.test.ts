// When the worker cannot start, one line says what failed, and nothing is billed or created: a bad
// --metrics or --topic before anything is touched, a session timeout the broker refuses as exactly
// that (it read "cannot reach Kafka" before, whatever the cause).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { runMeter } from '../helpers/cli.js';
import { uniqueName } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

function oneLineError(result: ReturnType<typeof runMeter>, exitCode: number, pattern: RegExp): void {
  assert.equal(result.status, exitCode, result.stderr);
  const lines = result.stderr.trim().split('\n').filter((l) => l.startsWith('meter:'));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

test('a bad --metrics address, a port in use or a bad --topic: exit 2 before the ledger is made', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meter-worker-start-'));
  const ledger = join(dir, 'ledger.db');
  oneLineError(runMeter(['worker', '--brokers', brokers, '--ledger', ledger, '--metrics', 'nowhere']), 2, /^meter: --metrics: "nowhere" is not HOST:PORT/);
  oneLineError(runMeter(['worker', '--brokers', brokers, '--ledger', ledger, '--topic', 'bad topic!']), 2, /^meter: --topic: "bad topic!" is not a Kafka topic name/);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (busy.address() as { port: number }).port;
    const inUse = runMeter(['worker', '--brokers', brokers, '--ledger', ledger, '--topic', uniqueName('start'), '--metrics', `127.0.0.1:${port}`], { timeout: 60_000 });
    oneLineError(inUse, 2, /^meter: --metrics: cannot listen on 127\.0\.0\.1:\d+ \(the port is in use\)/);
  } finally {
    busy.close();
  }
  assert.equal(existsSync(ledger), false, 'no ledger was created');
});

test('a session timeout the broker refuses says so, not "cannot reach Kafka"', { timeout: 120_000 }, () => {
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-worker-start-')), 'ledger.db');
  // The broker's group.min.session.timeout.ms is 6 s.
  const result = runMeter(['worker', '--brokers', brokers, '--ledger', ledger, '--topic', uniqueName('start'), '--group', uniqueName('g'), '--session-timeout', '3'], { timeout: 110_000 });
  oneLineError(result, 2, /^meter: --session-timeout 3: Kafka at \S+ allows only session timeouts between its group\.min\.session\.timeout\.ms and group\.max\.session\.timeout\.ms/);
});
