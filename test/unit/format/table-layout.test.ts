import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fit, layoutColumns, truncate, type ColumnSpec } from '../../../src/format/index.js';
import { sparkline, money, ago, duration } from '../../../src/console/format.js';

const name: ColumnSpec = { natural: 20, min: 8, soft: 12, shrink: true };
const spark: ColumnSpec = { natural: 30, min: 8, max: 30, flex: true };
const cpu: ColumnSpec = { natural: 4, min: 4 };
const labels: ColumnSpec = { natural: 25, min: 5, drop: 2 };
const cost: ColumnSpec = { natural: 9, min: 9, drop: 1 };
const sum = (ws: Array<number | null>) => ws.filter((w): w is number => w !== null).reduce((a, b) => a + b, 0) + ws.filter((w) => w !== null).length - 1;

test('everything fits: natural widths, and the flexible column takes the spare width up to its max', () => {
  const ws = layoutColumns([name, spark, cpu, labels, cost], 200);
  assert.deepEqual(ws, [20, 30, 4, 25, 9]);
});

test('spare width goes to the flexible column first, then back to the cut name', () => {
  const ws = layoutColumns([name, spark, cpu], 50);
  assert.deepEqual(ws, [14, 30, 4]);
  assert.equal(sum(ws), 50);
});

test('too narrow: names are cut to their soft width, optional columns go (highest drop first), then names shrink to their minimum', () => {
  assert.deepEqual(layoutColumns([name, spark, cpu, labels, cost], 60), [14, 30, 4, null, 9]);
  assert.deepEqual(layoutColumns([name, spark, cpu, labels, cost], 40), [12, 12, 4, null, 9]);
  assert.deepEqual(layoutColumns([name, spark, cpu, labels, cost], 30), [12, 12, 4, null, null]);
  const ws = layoutColumns([name, spark, cpu, labels, cost], 20);
  assert.deepEqual(ws, [8, 8, 4, null, null]);
  assert.ok(sum(ws) > 20, 'when even the minimums do not fit, the row is cut at the edge by the renderer');
});

test('truncate and fit cut with an ellipsis and pad to the exact width', () => {
  assert.equal(truncate('sim-web-0001', 8), 'sim-web…');
  assert.equal(truncate('short', 8), 'short');
  assert.equal(truncate('abc', 1), '…');
  assert.equal(fit('abc', 6, 'right'), '   abc');
  assert.equal(fit('abcdefgh', 6), 'abcde…');
});

test('sparkline: fixed 0..100 scale, newest on the right, blank where history is missing', () => {
  assert.equal(sparkline([0, 50, 100], 5), '  ▁▅█');
  assert.equal(sparkline([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 3), '▇▇█');
  assert.equal(sparkline([150, -5], 2), '█▁');
});

test('money keeps digits for small amounts; ago and duration are short', () => {
  assert.equal(money('12.345678'), '$12.35');
  assert.equal(money('0.004237'), '$0.0042');
  assert.equal(money('0.5'), '$0.500');
  assert.equal(money(null), '—');
  assert.equal(money('3', 'CHF'), '3.00 CHF');
  assert.equal(ago(1000, 5500), '4s ago');
  assert.equal(ago(0, 3 * 3600 * 1000), '3h ago');
  assert.equal(duration(200), '3m20s');
  assert.equal(duration(Infinity), '∞');
});
