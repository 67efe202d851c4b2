import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketPoints, coverageOf, extendWithTail, historyWindow, DAY, HOUR, MINUTE } from '../../../src/console/history.js';
import { HistoryStore } from '../../../src/console/history-store.js';
import { resample, timeChart } from '../../../src/console/charts.js';
import { MemoryHistory } from '../../helpers/memory-history.js';
import type { Sample } from '../../../src/schema/sample.js';

const NOW = Date.UTC(2026, 10, 15, 12, 0, 0);
const PERIOD = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
const GiB = 2 ** 30;

function sample(machine: string, end: number, busySeconds = 10, window = 5000): Sample {
  return { v: 1, id: `${machine}:0:${end}`, machine, labels: {}, start: end - window, end, cpu: { cores: 4, busySeconds }, mem: { totalBytes: 16 * GiB, usedBytes: 4 * GiB } };
}

test('ranges: the last hour by sample, the last 24 h by 5 min (by hour when the chart is narrow), the period by day', () => {
  assert.deepEqual(historyWindow('hour', NOW, PERIOD, 100), { range: 'hour', from: NOW - HOUR, to: NOW, stepMs: null, period: PERIOD });
  assert.equal(historyWindow('day', NOW, PERIOD, 200).stepMs, 5 * MINUTE);
  assert.equal(historyWindow('day', NOW, PERIOD, 100).stepMs, HOUR);
  assert.equal(historyWindow('day', NOW, PERIOD, 100).from, NOW - DAY);
  assert.deepEqual(historyWindow('period', NOW, PERIOD, 100), { range: 'period', from: PERIOD.from, to: NOW, stepMs: DAY, period: PERIOD });
});

test('coverage: time covered by sample windows, overlaps counted once, gaps listed', () => {
  const windows = [
    { start: 0, end: 10 },
    { start: 5, end: 20 }, // overlaps the first
    { start: 30, end: 40 },
    { start: 41, end: 50 }, // a 1 ms gap: uncovered, not listed as a gap of at least 2
    { start: 90, end: 120 }, // runs past the end
  ];
  const c = coverageOf(windows, 0, 100, 2);
  assert.equal(c.coveredMs, 20 + 10 + 9 + 10);
  assert.deepEqual(c.gaps, [
    { start: 20, end: 30 },
    { start: 50, end: 90 },
  ]);
  assert.deepEqual(coverageOf([], 0, 100).gaps, [{ start: 0, end: 100 }]);
});

test('bucketing averages by step, weighted by the samples in each point', () => {
  const points = [
    { at: 1000, cpu: 10, mem: 1 },
    { at: 2000, cpu: 30, mem: 3 },
    { at: 3500, cpu: 50, mem: 5, samples: 2 },
  ];
  assert.deepEqual(bucketPoints(points, 2000), [
    { at: 2000, cpu: 20, mem: 2, samples: 2 },
    { at: 4000, cpu: 50, mem: 5, samples: 2 },
  ]);
  assert.deepEqual(bucketPoints(points, null), points);
});

test('the live tail extends history from its newest sample, into the last bucket or new ones', () => {
  const history = [{ at: 10_000, cpu: 20, mem: 20, samples: 2 }];
  const tail = { ends: [8000, 9000, 11_000, 12_000], cpu: [99, 99, 50, 80], mem: [0, 0, 10, 10] };
  const extended = extendWithTail(history, 9000, tail, { from: 0, stepMs: 10_000 });
  // 11 s and 12 s fall in a new bucket ending at 20 s; 8 s and 9 s were in the history already.
  assert.deepEqual(extended, [history[0], { at: 20_000, cpu: 65, mem: 10, samples: 2 }]);
  assert.equal(history[0]!.samples, 2, 'the history is not changed');
  const bySample = extendWithTail(history, 10_000, tail, { from: 0, stepMs: null });
  assert.deepEqual(bySample.map((p) => p.at), [10_000, 11_000, 12_000]);
});

test('charts span the whole width, one column per slice of the window; slices without samples stay blank', () => {
  const points = [
    { at: 0, cpu: 100, mem: 0 },
    { at: 50, cpu: 0, mem: 0 },
    { at: 99, cpu: 50, mem: 0 },
  ];
  assert.deepEqual(resample(points, 'cpu', 0, 100, 4), [100, null, 0, 50]);
  const lines = timeChart(points, 'cpu', { from: 0, to: 100, days: false }, 5 + 40, 6);
  assert.equal(lines.length, 6);
  for (const l of lines) assert.ok(l.length <= 45, l);
  const bottom = lines[4]!;
  assert.equal(bottom.slice(5, 6), '█', 'a full column at 100%');
  assert.equal(bottom.slice(6, 7), ' ', 'a gap with no samples');
  assert.equal(bottom.slice(25, 26), '▁', 'a covered slice at 0% still shows');
});

test('the history store asks its source for the detail view, drops answers to older questions, and re-reads', async () => {
  const samples = Array.from({ length: 720 * 4 }, (_, k) => sample(k % 2 ? 'a' : 'b', NOW - Math.floor(k / 2) * 5000, k % 20));
  const source = new MemoryHistory(samples);
  let changes = 0;
  const store = new HistoryStore({ source, period: () => PERIOD, sparkPoints: 24, sparkSinceMs: 10 * MINUTE, now: () => NOW, onChange: () => changes++, refreshMs: 50 });
  let release!: () => void;
  source.gate = new Promise((r) => (release = r));
  store.setDetail({ machine: 'a', range: 'hour', chartColumns: 100 });
  assert.equal(store.detail!.state, 'loading');
  store.setDetail({ machine: 'b', range: 'day', chartColumns: 100 });
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.detail!.request.machine, 'b', "the answer about a is dropped: the operator moved on to b");
  assert.equal(store.detail!.state, 'ok');
  assert.equal(store.detail!.data!.points.length, 2, 'two hours of samples by the hour: the buckets ending at 11:00 and 12:00');
  assert.ok(store.detail!.data!.coverage.gaps.length >= 1, 'the period before the samples is a gap');
  const calls = source.calls.length;
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(source.calls.length > calls, 'an open detail view is read again');
  store.setDetail(null);
  assert.equal(store.detail, null);
  assert.ok(changes > 0);
  store.stop();
});

test('a failing source is a message in the detail view, and the sparklines fall back to the tail', async () => {
  const source = new MemoryHistory([sample('a', NOW)]);
  source.fail = new Error('connection refused\nstack');
  const store = new HistoryStore({ source, period: () => PERIOD, sparkPoints: 24, sparkSinceMs: 10 * MINUTE, now: () => NOW });
  store.setDetail({ machine: 'a', range: 'hour', chartColumns: 100 });
  store.fillSparklines(['a']);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.detail!.state, 'error');
  assert.equal(store.detail!.message, 'history: connection refused');
  assert.equal(store.sparklines.size, 0);
  store.stop();
});

test('sparklines: each machine is asked about once, in batches, one request at a time', async () => {
  const source = new MemoryHistory([sample('a', NOW), sample('b', NOW), sample('c', NOW)]);
  const store = new HistoryStore({ source, period: () => PERIOD, sparkPoints: 24, sparkSinceMs: 10 * MINUTE, now: () => NOW });
  store.fillSparklines(['a', 'b']);
  store.fillSparklines(['a', 'b', 'c']); // while the first is in flight
  await new Promise((r) => setTimeout(r, 10));
  const asked = source.calls.filter((c) => c.kind === 'sparklines').map((c) => c.machines);
  assert.deepEqual(asked, [['a', 'b'], ['c']]);
  assert.deepEqual([...store.sparklines.keys()].sort(), ['a', 'b', 'c']);
  store.stop();
});
