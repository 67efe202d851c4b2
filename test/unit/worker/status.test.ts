import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusLine, statusLine } from '../../../src/worker/status.js';
import type { WorkerSnapshot } from '../../../src/worker/worker-stats.js';
import { parseDuration } from '../../../src/worker/duration.js';

const snapshot = (): WorkerSnapshot => ({
  samplesPerSecond: 1234.4,
  lag: 42,
  partitions: [
    { partition: 0, logEnd: 110, ledgerNext: 100, lag: 10 },
    { partition: 2, logEnd: 532, ledgerNext: 500, lag: 32 },
  ],
  stoppedPartitions: [],
  inserted: 12_345,
  duplicates: 7,
  dlq: 3,
  batches: 9,
});

test('the status line says samples/s, lag, DLQ and partitions, within the width', () => {
  const line = statusLine('billing', 'resource_usage', snapshot(), 200);
  assert.equal(line, 'billing <- resource_usage  1,234 samples/s  lag 42  dlq 3  new 12,345  dup 7  partitions 0,2');
  const narrow = statusLine('billing', 'resource_usage', snapshot(), 40);
  assert.equal(narrow.length, 40);
  assert.ok(narrow.endsWith('…'));
  const stopped = statusLine('billing', 'resource_usage', { ...snapshot(), stoppedPartitions: [2] }, 200);
  assert.match(stopped, /partitions 0,2\(stopped\)$/);
});

test('log lines lift the status line out of the way and put it back', () => {
  let out = '';
  const stream = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
    write: (chunk: string) => ((out += chunk), true),
    columns: 100,
    isTTY: true,
  });
  const status = new StatusLine(stream);
  assert.equal(status.width, 99);
  status.draw('status 1');
  status.statusAwareStream().write('a log line\n');
  status.clear();
  assert.equal(out, '\r\x1b[Kstatus 1\r\x1b[Ka log line\nstatus 1\r\x1b[K');
});

test('durations', () => {
  assert.equal(parseDuration('late-limit', '7d'), 7 * 86_400_000);
  assert.equal(parseDuration('late-limit', '36h'), 36 * 3_600_000);
  assert.equal(parseDuration('late-limit', '90m'), 90 * 60_000);
  assert.equal(parseDuration('late-limit', '45'), 45_000);
  assert.equal(parseDuration('late-limit', '1.5h'), 5_400_000);
  assert.throws(() => parseDuration('late-limit', 'soon'), /--late-limit: "soon" is not a duration/);
  assert.throws(() => parseDuration('late-limit', '0d'), /not a duration/);
  assert.throws(() => parseDuration('late-limit', '400d', { maxMs: 366 * 86_400_000 }), /too long; at most 366d/);
});
