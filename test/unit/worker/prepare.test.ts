import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { parseRateCard, loadRateCard } from '../../../src/billing/rate-card.js';
import { flatCostMicros } from '../../../src/billing/rating.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR } from '../../../src/billing/money.js';
import { rowAt } from '../../../src/ledger/index.js';
import { GiB, makeSample, message } from './fixtures.js';

const NOW = Date.UTC(2026, 10, 15, 12);
const LATE = 7 * 24 * 3_600_000;

test('valid samples become ledger rows with integer usage and base-rate charges', () => {
  const preparer = new BatchPreparer(loadRateCard(), LATE);
  const sample = makeSample({ machine: 'web-1', start: NOW - 60_000, labels: { b: '2', a: '1' }, busySeconds: 12.5, usedBytes: 12 * GiB });
  const { samples, rejects } = preparer.prepare([message(sample, 7)], NOW);
  assert.equal(rejects.length, 0);
  assert.deepEqual(rowAt(samples, 0), {
    offset: 7,
    id: sample.id,
    machine: 'web-1',
    labels: '{"a":"1","b":"2"}',
    start: sample.start,
    end: sample.end,
    cores: 8,
    cpuBusyUs: 12_500_000,
    memUsedBytes: 12 * GiB,
    memTotalBytes: 32 * GiB,
    // 12.5 s / 3600 x 0.031611 = 109.7604 micros; 12 GiB x 5 s / 3600 x 0.004237 = 70.6167 micros.
    cpuMicros: 110,
    memMicros: 71,
  });
});

test('every invalid message is rejected with a reason and a code, and keeps its bytes for the DLQ', () => {
  const preparer = new BatchPreparer(loadRateCard(), LATE);
  const good = makeSample({ start: NOW - 60_000 });
  const bad: [string | null, string, string][] = [
    ['web-1', 'not json', 'not-json'],
    ['web-1', '[1]', 'not-object'],
    ['web-1', JSON.stringify({ ...good, v: 2 }), 'bad-version'],
    ['web-1', JSON.stringify({ ...good, extra: true }), 'unknown-field'],
    ['other', JSON.stringify(good), 'key-mismatch'],
    [null, JSON.stringify(good), 'key-mismatch'],
    ['web-1', JSON.stringify({ ...good, end: good.start }), 'bad-window'],
    ['web-1', JSON.stringify({ ...good, start: NOW + 600_000, end: NOW + 605_000 }), 'future'],
    ['web-1', JSON.stringify({ ...good, start: NOW - LATE - 10_000, end: NOW - LATE - 5000 }), 'too-late'],
    ['web-1', JSON.stringify({ ...good, cpu: { cores: 0, busySeconds: 0 } }), 'bad-cores'],
    ['web-1', JSON.stringify({ ...good, cpu: { cores: 1, busySeconds: 6 } }), 'bad-busy'],
    ['web-1', JSON.stringify({ ...good, mem: { totalBytes: 1, usedBytes: 2 } }), 'bad-memory'],
    ['web-1', JSON.stringify({ ...good, labels: { a: { b: 'c' } } }), 'bad-labels'],
    ['web-1', JSON.stringify({ ...good, cpu: { ...good.cpu, steal: 1 } }), 'unknown-field'],
    ['web-1', JSON.stringify({ ...good, mem: { ...good.mem, cached: 1 } }), 'unknown-field'],
    ['web-1', JSON.stringify({ ...good, start: good.end - LATE - 1, cpu: { cores: 1, busySeconds: 1 } }), 'too-late'],
    ['web-1', '', 'empty'],
  ];
  const messages = [message(good, 0), ...bad.map(([key, value], i) => message(value, i + 1, key))];
  const { samples, rejects } = preparer.prepare(messages, NOW);
  assert.equal(samples.ids.length, 1);
  assert.deepEqual(
    rejects.map((r) => [r.offset, r.code]),
    bad.map(([, , code], i) => [i + 1, code]),
  );
  for (const r of rejects) {
    assert.ok(r.reason.length > 0 && !r.reason.includes('\n'));
    assert.ok(r.value !== null);
  }
  assert.equal(rejects[0]!.value!.toString(), 'not json');
  assert.equal(rejects[0]!.key!.toString(), 'web-1');
});

test('messages below the ledger offset are left out', () => {
  const preparer = new BatchPreparer(loadRateCard(), LATE);
  const messages = [0, 1, 2, 3].map((i) => message(makeSample({ start: NOW - 60_000 + i * 5000 }), 10 + i));
  const { samples } = preparer.prepare(messages, NOW, 12);
  assert.deepEqual(samples.values.filter((_, i) => i % 9 === 0), [12, 13]);
});

test('charges use the plan of the machine, and equal the exact BigInt computation', () => {
  const card = parseRateCard({
    cpu: '0.031611',
    memory: '0.004237',
    plans: [{ name: 'odd', match: { labels: { plan: 'odd' } }, cpu: '0.123456789012', memory: { tiers: [{ upTo: 1, price: '7.777777777777' }, { price: 1 }] } }],
  });
  const preparer = new BatchPreparer(card, LATE);
  const messages = [];
  const expected: [bigint, bigint][] = [];
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 2000; i++) {
    const odd = i % 2 === 1;
    const windowMs = 1 + Math.floor(random() * 600_000);
    const cores = 1 + Math.floor(random() * 64);
    const busy = Math.floor(random() * cores * windowMs) / 1000;
    const used = Math.floor(random() * 64 * GiB);
    const s = makeSample({
      machine: `m${i % 5}`,
      seq: i,
      start: NOW - 700_000,
      windowMs,
      cores,
      busySeconds: busy,
      usedBytes: used,
      totalBytes: 64 * GiB,
      labels: odd ? { plan: 'odd' } : {},
    });
    messages.push(message(s, i));
    const cpuPrice = odd ? 123_456_789_012n : 31_611_000_000n;
    const memPrice = odd ? 7_777_777_777_777n : 4_237_000_000n;
    expected.push([
      flatCostMicros(BigInt(Math.round(busy * 1e6)), CPU_UNITS_PER_CORE_HOUR, cpuPrice),
      flatCostMicros(BigInt(used) * BigInt(windowMs), MEM_UNITS_PER_GIB_HOUR, memPrice),
    ]);
  }
  const { samples, rejects } = preparer.prepare(messages, NOW);
  assert.equal(rejects.length, 0, rejects[0]?.reason);
  for (let i = 0; i < messages.length; i++) {
    const row = rowAt(samples, i);
    assert.deepEqual([BigInt(row.cpuMicros), BigInt(row.memMicros)], expected[i], `row ${i}`);
  }
});

test('a machine that changes labels gets its new labels and its new plan', () => {
  const card = parseRateCard({ plans: [{ name: 'p', match: { labels: { env: 'prod' } }, cpu: 1 }] });
  const preparer = new BatchPreparer(card, LATE);
  const a = makeSample({ seq: 1, start: NOW - 60_000, labels: { env: 'dev' }, busySeconds: 3.6 });
  const b = makeSample({ seq: 2, start: NOW - 55_000, labels: { env: 'prod' }, busySeconds: 3.6 });
  const c = makeSample({ seq: 3, start: NOW - 50_000, labels: { env: 'prod', x: 'y' }, busySeconds: 3.6 });
  const { samples } = preparer.prepare([message(a, 0), message(b, 1), message(c, 2)], NOW);
  assert.deepEqual(samples.labels, ['{"env":"dev"}', '{"env":"prod"}', '{"env":"prod","x":"y"}']);
  // 3.6 s = 0.001 core-hours: at 0.031611 -> 32 micros; at 1.0 -> 1000 micros.
  assert.deepEqual([0, 1, 2].map((i) => rowAt(samples, i).cpuMicros), [32, 1000, 1000]);
});
