// Every figure of examples/pooled-tiers.md, from the code. If one of these changes, so must the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMicros } from '../../../src/billing/money.js';
import { PriceBook } from '../../../src/billing/price-versions.js';
import { pricePeriod } from '../../../src/billing/pooled-tiers.js';
import { allocateRange, type LineGrouping } from '../../../src/billing/range-allocation.js';
import { book, card, usage } from './pricing-fixtures.js';

const NOV = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };
const HALF = Date.UTC(2026, 10, 16);
const FIRST = { from: NOV.from, to: HALF };
const SECOND = { from: HALF, to: NOV.to };
const items = [
  usage(NOV.from, 'web-1', { team: 'search' }, 40),
  usage(HALF, 'web-1', { team: 'search' }, 50),
  usage(NOV.from, 'web-2', { team: 'search' }, 30),
  usage(HALF, 'web-2', { team: 'search' }, 30),
  usage(NOV.from, 'db-1', { team: 'ads' }, 30),
  usage(HALF, 'db-1', { team: 'ads' }, 20),
];
const cpu = (mode: string, lower: string, upper: string) => ({ mode, tiers: [{ upTo: 100, price: lower }, { price: upper }] });
const graduated = card({ cpu: cpu('graduated', '0.04', '0.02'), memory: 0 });

function lines(prices: PriceBook, range: { from: number; to: number }, by: LineGrouping, usageItems = items) {
  const result = allocateRange([pricePeriod(NOV, usageItems, prices)], range, by);
  return { ...Object.fromEntries(result.lines.map((l) => [l.key, formatMicros(l.totalMicros)])), total: formatMicros(result.totalMicros) };
}

test('the month: 6.00 by machine and by team', () => {
  const prices = book([graduated, NOV.from]);
  assert.deepEqual(lines(prices, NOV, 'machine'), { 'db-1': '1.500000', 'web-1': '2.700000', 'web-2': '1.800000', total: '6.000000' });
  assert.deepEqual(lines(prices, NOV, { label: 'team' }), { ads: '1.500000', search: '4.500000', total: '6.000000' });
  const volume = book([card({ cpu: cpu('volume', '0.04', '0.02'), memory: 0 }), NOV.from]);
  assert.deepEqual(lines(volume, NOV, 'machine'), { 'db-1': '1.000000', 'web-1': '1.800000', 'web-2': '1.200000', total: '4.000000' });
});

test('a range inside the month: 3.00 and 3.00', () => {
  const prices = book([graduated, NOV.from]);
  assert.deepEqual(lines(prices, FIRST, 'machine'), { 'db-1': '0.900000', 'web-1': '1.200000', 'web-2': '0.900000', total: '3.000000' });
  assert.deepEqual(lines(prices, SECOND, 'machine'), { 'db-1': '0.600000', 'web-1': '1.500000', 'web-2': '0.900000', total: '3.000000' });
});

test('rounding: 8.00 over three equal lines', () => {
  const three = ['a', 'b', 'c'].map((m) => usage(NOV.from, m, {}, 100));
  assert.deepEqual(lines(book([graduated, NOV.from]), NOV, 'machine', three), { a: '2.666667', b: '2.666667', c: '2.666666', total: '8.000000' });
});

test('account: team', () => {
  const prices = book([card({ account: 'team', cpu: cpu('graduated', '0.04', '0.02'), memory: 0 }), NOV.from]);
  assert.deepEqual(lines(prices, NOV, 'machine'), { 'db-1': '2.000000', 'web-1': '3.000000', 'web-2': '2.000000', total: '7.000000' });
  assert.deepEqual(lines(prices, FIRST, { label: 'team' }), { ads: '1.200000', search: '2.333333', total: '3.533333' });
  assert.deepEqual(lines(prices, SECOND, { label: 'team' }), { ads: '0.800000', search: '2.666667', total: '3.466667' });
});

test('a price change on 16 November', () => {
  const prices = book([graduated, NOV.from], [card({ cpu: cpu('graduated', '0.05', '0.025'), memory: 0 }), HALF]);
  assert.deepEqual(lines(prices, NOV, 'machine'), { 'db-1': '1.650000', 'web-1': '3.075000', 'web-2': '2.025000', total: '6.750000' });
  const result = allocateRange([pricePeriod(NOV, items, prices)], NOV, 'machine');
  for (const line of result.lines) assert.deepEqual(line.versions.map((v) => v.effectiveFrom), ['2026-11-01T00:00:00.000Z', '2026-11-16T00:00:00.000Z']);
});
