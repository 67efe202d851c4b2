import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePartition, OffsetHistory, worstStatus, type OffsetObservation } from '../../../src/console/lag-status.js';

const WINDOW = 20_000;

/** Observations every 2 s from t=0: [committed, end] pairs, owned unless said otherwise. */
function series(points: Array<[number | null, number]>, owned = true): OffsetObservation[] {
  return points.map(([committed, end], i) => ({ at: i * 2000, committed, end, owned }));
}

test('no observations: OK with nothing known', () => {
  const v = evaluatePartition([], WINDOW);
  assert.equal(v.status, 'OK');
  assert.equal(v.lag, null);
});

test('rule 1: nothing committed on an empty partition is OK; with messages and the window covered it is STOP', () => {
  assert.equal(evaluatePartition(series([[null, 0], [null, 0]]), WINDOW).status, 'OK');
  const waiting = evaluatePartition(series([[null, 10], [null, 12]]), WINDOW);
  assert.equal(waiting.status, 'OK', 'a fresh owner gets the window to commit');
  const stopped = evaluatePartition(series(Array.from({ length: 11 }, (_, i) => [null, 10 + i] as [null, number])), WINDOW);
  assert.equal(stopped.status, 'STOP');
  assert.equal(stopped.lag, null);
});

test('rule 2: lag zero anywhere in the window is OK, even if it is high now', () => {
  const v = evaluatePartition(series([[100, 100], [100, 150], [100, 200], [100, 250]]), WINDOW);
  assert.equal(v.status, 'OK');
  assert.equal(v.lag, 150);
});

test('rule 4: offsets frozen over the whole window with lag > 0 is STALL when owned, STOP when not', () => {
  const points = Array.from({ length: 11 }, (_, i) => [50, 100 + i * 10] as [number, number]);
  const owned = evaluatePartition(series(points, true), WINDOW);
  assert.equal(owned.status, 'STALL');
  assert.equal(owned.consumeRate, 0);
  assert.equal(owned.catchUpSeconds, Infinity);
  assert.equal(evaluatePartition(series(points, false), WINDOW).status, 'STOP');
});

test('rule 4 needs the window covered: a frozen offset seen for 6 s only is still OK', () => {
  const v = evaluatePartition(series([[50, 100], [50, 110], [50, 120], [50, 130]]), WINDOW);
  assert.equal(v.status, 'OK');
  assert.equal(v.reason, 'watching');
});

test('rule 5: offsets advance but lag never goes down and ends higher is WARN', () => {
  const v = evaluatePartition(series([[10, 20], [20, 40], [30, 60], [40, 80]]), WINDOW);
  assert.equal(v.status, 'WARN');
  assert.equal(v.lag, 40);
  assert.equal(v.consumeRate, 5); // 30 messages over 6 s
  assert.equal(v.produceRate, 10);
  assert.equal(v.catchUpSeconds, Infinity);
});

test('rule 6: lag that goes down somewhere is OK, and catch-up time follows the rates', () => {
  const v = evaluatePartition(series([[0, 100], [40, 110], [80, 120], [120, 130]]), WINDOW);
  assert.equal(v.status, 'OK');
  assert.equal(v.lag, 10);
  assert.equal(v.consumeRate, 20);
  assert.equal(v.produceRate, 5);
  assert.ok(Math.abs(v.catchUpSeconds! - 10 / 15) < 1e-9);
});

test('rule 3: a committed offset that moves backwards is WARN (rewind)', () => {
  const v = evaluatePartition(series([[100, 200], [50, 210], [60, 220]]), WINDOW);
  assert.equal(v.status, 'WARN');
  assert.equal(v.reason, 'offset rewound');
});

test('only the last window counts: an old zero lag does not keep a partition OK', () => {
  // Lag zero at t=0, then frozen offsets for 30 s.
  const points: Array<[number, number]> = [[100, 100], ...Array.from({ length: 15 }, (_, i) => [100, 110 + i] as [number, number])];
  assert.equal(evaluatePartition(series(points), WINDOW).status, 'STALL');
});

test('OffsetHistory keeps one observation before the horizon and forgets vanished partitions', () => {
  const h = new OffsetHistory(10_000);
  for (let t = 0; t <= 30_000; t += 2000) h.record(0, { at: t, committed: t, end: t + 5, owned: true });
  const kept = h.observations(0);
  assert.equal(kept[0]!.at, 20_000);
  assert.equal(kept[kept.length - 1]!.at, 30_000);
  h.retain([1]);
  assert.equal(h.observations(0).length, 0);
});

test('worstStatus orders STOP > STALL > WARN > OK', () => {
  assert.equal(worstStatus(['OK', 'WARN', 'OK']), 'WARN');
  assert.equal(worstStatus(['STALL', 'STOP', 'WARN']), 'STOP');
  assert.equal(worstStatus([]), 'OK');
});
