import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openLedger, splitRange, LedgerGapError, LEDGER_SCHEMA_VERSION, type LedgerBatch } from '../../../src/ledger/index.js';
import { loadRateCard } from '../../../src/billing/index.js';
import { MeterError } from '../../../src/cli/errors.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, makeSample, message, tempLedgerPath } from '../worker/fixtures.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 30, 22, 0, 0); // 2026-11-30T22:00Z, two hours before December
const card = loadRateCard();

function batchOf(partition: number, offsets: [number, ReturnType<typeof makeSample> | string][], now = T0 + 10 * HOUR): LedgerBatch {
  const preparer = new BatchPreparer(card, 7 * 24 * HOUR);
  const prepared = preparer.prepare(offsets.map(([o, s]) => message(s, o)), now);
  return {
    group: 'billing',
    topic: 'resource_usage',
    partition,
    lastOffset: Math.max(...offsets.map(([o]) => o)),
    samples: prepared.samples,
    rejects: prepared.rejects,
    rateCardId: 1,
    now,
  };
}

test('a new ledger is created in WAL mode with the schema, and opening it again changes nothing', () => {
  const path = tempLedgerPath();
  const first = openLedger(path);
  assert.equal(first.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(first.db.pragma('user_version', { simple: true }), LEDGER_SCHEMA_VERSION);
  const tables = () =>
    (first.db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','index','view') ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
  const before = tables();
  for (const t of ['samples', 'charges', 'usage_hourly', 'usage_monthly', 'offsets', 'dlq_counts', 'label_sets', 'machines']) {
    assert.ok(before.includes(t), t);
  }
  const second = openLedger(path);
  assert.deepEqual(tables(), before);
  second.close();
  first.close();
});

test('read-only opens fail with one line when the ledger is missing or is not a ledger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meter-ledger-'));
  const missing = join(dir, 'nope.db');
  assert.throws(() => openLedger(missing, { readonly: true }), (e: unknown) => {
    assert.ok(e instanceof MeterError);
    assert.equal(e.message, `ledger ${missing} not found; run \`meter worker\` first or pass --ledger`);
    return true;
  });
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to be a header '.repeat(20));
  assert.throws(() => openLedger(junk, { readonly: true }), /ledger .*junk\.db is not a meter ledger \(not a SQLite database\)/);
  assert.throws(() => openLedger(junk), /is not a meter ledger/);
  const empty = join(dir, 'empty.db');
  new Database(empty).close();
  assert.throws(() => openLedger(empty, { readonly: true }), /is not a meter ledger \(no schema\)/);
  assert.throws(() => openLedger(dir, { readonly: true }), /is a directory/);
  const future = join(dir, 'future.db');
  const db = new Database(future);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => openLedger(future), /has schema v99, newer than this meter/);
});

test('a batch writes samples, charges, rollups and the offset; a replay of it changes nothing', () => {
  const ledger = openLedger(tempLedgerPath());
  assert.equal(ledger.registerRateCard(card), 1);
  const s1 = makeSample({ machine: 'web-1', start: T0, labels: { team: 'a' } });
  const s2 = makeSample({ machine: 'web-1', start: T0 + 5000, labels: { team: 'a' } });
  const s3 = makeSample({ machine: 'db-1', start: T0 + HOUR, cores: 4, busySeconds: 1 });
  const batch = batchOf(0, [[10, s1], [11, s2], [12, s1], [13, 'not json'], [14, s3]]);
  const result = ledger.applyBatch(batch);
  assert.deepEqual(result, { inserted: 3, duplicates: 1, skipped: 0, rejected: 1, nextOffset: 15 });
  assert.equal(ledger.nextOffset('billing', 'resource_usage', 0), 15);
  assert.equal(ledger.counter('samples'), 3);
  assert.equal(ledger.counter('duplicates'), 1);
  assert.deepEqual(ledger.dlqCounts(), [{ topic: 'resource_usage', reason: 'not-json', count: 1, lastDetail: 'value is not JSON' }]);
  const charges = ledger.db.prepare('SELECT COUNT(*) AS n, SUM(cpu_micros) AS cpu, MIN(currency) AS currency FROM charges').get() as {
    n: number;
    cpu: number;
    currency: string;
  };
  assert.equal(charges.n, 3);
  assert.equal(charges.currency, 'USD');
  // 12.5 busy seconds at 0.031611 per core-hour = 109.76 micros -> 110 each; 1 s -> 8.78 -> 9.
  assert.equal(charges.cpu, 110 + 110 + 9);
  const hourly = ledger.db.prepare('SELECT hour_ms, machine, samples, cpu_busy_us FROM usage_hourly ORDER BY hour_ms').all();
  assert.deepEqual(hourly, [
    { hour_ms: T0, machine: 'web-1', samples: 2, cpu_busy_us: 25_000_000 },
    { hour_ms: T0 + HOUR, machine: 'db-1', samples: 1, cpu_busy_us: 1_000_000 },
  ]);

  // The same batch again (a crash before the Kafka commit): everything below offset 15 is skipped.
  const again = ledger.applyBatch(batch);
  assert.deepEqual(again, { inserted: 0, duplicates: 0, skipped: 5, rejected: 0, nextOffset: 15 });
  assert.equal(ledger.dlqCounts()[0]!.count, 1, 'DLQ counted once');
  // The same samples at new offsets (an agent replaying its spool): ids dedupe them.
  const replay = ledger.applyBatch(batchOf(0, [[15, s1], [16, s2], [17, s3]]));
  assert.deepEqual(replay, { inserted: 0, duplicates: 3, skipped: 0, rejected: 0, nextOffset: 18 });
  const usage = ledger.usage(T0, T0 + 2 * HOUR);
  assert.equal(usage.reduce((a, r) => a + r.samples, 0), 3);
  assert.deepEqual(
    ledger.machines().map((m) => [m.machine, m.samples, m.lastSeen, m.labels]),
    [
      ['db-1', 1, T0 + HOUR + 5000, {}],
      ['web-1', 2, T0 + 10_000, { team: 'a' }],
    ],
  );
  ledger.close();
});

test('offsets never move backwards, and partitions are independent', () => {
  const ledger = openLedger(tempLedgerPath());
  ledger.applyBatch(batchOf(1, [[100, makeSample({ start: T0 })]]));
  ledger.applyBatch(batchOf(2, [[5, makeSample({ start: T0 + 5000 })]]));
  // An older batch for partition 1 (a zombie consumer): skipped, offset stays at 101.
  const stale = ledger.applyBatch(batchOf(1, [[50, makeSample({ start: T0 + 10_000 })]]));
  assert.equal(stale.skipped, 1);
  assert.deepEqual(ledger.offsets(), [
    { group: 'billing', topic: 'resource_usage', partition: 1, nextOffset: 101 },
    { group: 'billing', topic: 'resource_usage', partition: 2, nextOffset: 6 },
  ]);
  ledger.close();
});

test('a batch that starts past the ledger offset is refused, so a failed batch is never skipped over', () => {
  const ledger = openLedger(tempLedgerPath());
  ledger.applyBatch(batchOf(0, [[0, makeSample({ start: T0 })], [1, makeSample({ start: T0 + 5000 })]]));
  // Offsets 2..3 never made it (their batch failed); the next batch, fetched from 4, must not apply.
  const later = batchOf(0, [[4, makeSample({ start: T0 + 20_000 })]]);
  assert.throws(() => ledger.applyBatch({ ...later, fetchedOffset: 4 }), (e: unknown) => {
    assert.ok(e instanceof LedgerGapError);
    assert.equal(e.nextOffset, 2);
    return true;
  });
  assert.throws(() => ledger.applyBatch(later), LedgerGapError, 'without fetchedOffset, the lowest offset counts');
  assert.equal(ledger.nextOffset('billing', 'resource_usage', 0), 2);
  // Fetched from 2, with 2..3 compacted away: contiguous, so it applies.
  assert.equal(ledger.applyBatch({ ...later, fetchedOffset: 2 }).inserted, 1);
  assert.equal(ledger.nextOffset('billing', 'resource_usage', 0), 5);
  // Offsets 5..9 deleted by retention: accepted only when said so, and counted as lost.
  const afterRetention = batchOf(0, [[10, makeSample({ start: T0 + 40_000 })]]);
  assert.throws(() => ledger.applyBatch(afterRetention), LedgerGapError);
  assert.equal(ledger.applyBatch({ ...afterRetention, retentionGap: true }).inserted, 1);
  assert.equal(ledger.counter('lost'), 5);
  ledger.close();
});

test('a failed transaction leaves nothing behind, label sets included', () => {
  const ledger = openLedger(tempLedgerPath());
  const batch = batchOf(0, [[0, makeSample({ start: T0, labels: { team: 'x' } })]]);
  // Force a failure after the samples and label set are written: the offset update aborts.
  ledger.db.exec('CREATE TRIGGER fail_offsets BEFORE INSERT ON offsets BEGIN SELECT RAISE(ABORT, \'boom\'); END');
  assert.throws(() => ledger.applyBatch(batch), /boom/);
  ledger.db.exec('DROP TRIGGER fail_offsets');
  assert.equal((ledger.db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n, 0);
  assert.equal((ledger.db.prepare('SELECT COUNT(*) AS n FROM label_sets').get() as { n: number }).n, 0);
  // Other labels now take the rolled-back id; the retried batch must still get its own labels.
  ledger.applyBatch(batchOf(0, [[0, makeSample({ machine: 'other', start: T0, labels: { team: 'y' } })]]));
  ledger.applyBatch(batchOf(3, [[0, makeSample({ start: T0, labels: { team: 'x' } })]]));
  assert.deepEqual(
    ledger.machines().map((m) => [m.machine, m.labels]),
    [
      ['other', { team: 'y' }],
      ['web-1', { team: 'x' }],
    ],
  );
  ledger.close();
});

test('two connections write one ledger in turn, and a read-only reader sees committed batches', () => {
  const path = tempLedgerPath();
  const a = openLedger(path);
  const b = openLedger(path);
  const reader = openLedger(path, { readonly: true });
  a.applyBatch(batchOf(0, [[0, makeSample({ machine: 'a', start: T0 })]]));
  b.applyBatch(batchOf(1, [[0, makeSample({ machine: 'b', start: T0 })]]));
  a.applyBatch(batchOf(1, [[0, makeSample({ machine: 'b', start: T0 })]]));
  assert.equal(reader.counter('samples'), 2);
  assert.equal(reader.offsets().length, 2);
  assert.throws(() => reader.applyBatch(batchOf(0, [[1, makeSample({ start: T0 })]])), /read-only/);
  for (const l of [a, b, reader]) l.close();
});

test('splitRange answers a range with whole months, whole hours and raw edges', () => {
  const nov = Date.UTC(2026, 10, 1);
  const dec = Date.UTC(2026, 11, 1);
  const jan = Date.UTC(2027, 0, 1);
  assert.deepEqual(splitRange(nov, dec), { months: [[nov, dec]], hours: [], raw: [] });
  assert.deepEqual(splitRange(nov, jan), { months: [[nov, jan]], hours: [], raw: [] });
  assert.deepEqual(splitRange(nov + 1000, dec), {
    months: [],
    hours: [[nov + HOUR, dec]],
    raw: [[nov + 1000, nov + HOUR]],
  });
  assert.deepEqual(splitRange(dec - 2 * HOUR - 5, jan + HOUR + 7), {
    months: [[dec, jan]],
    hours: [
      [dec - 2 * HOUR, dec],
      [jan, jan + HOUR],
    ],
    raw: [
      [dec - 2 * HOUR - 5, dec - 2 * HOUR],
      [jan + HOUR, jan + HOUR + 7],
    ],
  });
  assert.deepEqual(splitRange(nov + 10, nov + 20), { months: [], hours: [], raw: [[nov + 10, nov + 20]] });
  assert.deepEqual(splitRange(nov + 10, nov + HOUR + 20), { months: [], hours: [], raw: [[nov + 10, nov + HOUR + 20]] });
  assert.deepEqual(splitRange(nov, nov), { months: [], hours: [], raw: [] });
});

test('usage over any range equals the sum of the raw samples starting in it', () => {
  const ledger = openLedger(tempLedgerPath());
  const samples: Sample[] = [];
  // Samples every 7 minutes for 5 hours across the month boundary, odd sizes so nothing divides evenly.
  for (let i = 0, t = T0 - 3 * HOUR; t < T0 + 5 * HOUR; i++, t += 7 * 60_000) {
    samples.push(makeSample({ machine: i % 3 ? 'web-1' : 'db-1', start: t, windowMs: 7 * 60_000, busySeconds: (i % 17) + 0.123457, usedBytes: 3 * GiB + i * 4099 }));
  }
  ledger.applyBatch(batchOf(0, samples.map((s, i) => [i, s] as [number, typeof s])));
  const ranges: [number, number][] = [
    [T0 - 3 * HOUR, T0 + 5 * HOUR],
    [Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1)],
    [Date.UTC(2026, 11, 1), Date.UTC(2027, 0, 1)],
    [T0 - 2 * HOUR - 123, T0 + 3 * HOUR + 999],
    [T0 + 60_000, T0 + 20 * 60_000],
  ];
  for (const [from, to] of ranges) {
    const inRange = samples.filter((s) => s.start >= from && s.start < to);
    const got = ledger.usage(from, to);
    const cpu = got.reduce((a, r) => a + r.cpuBusyUs, 0n);
    const mem = got.reduce((a, r) => a + r.memByteMs, 0n);
    assert.equal(cpu, inRange.reduce((a, s) => a + BigInt(Math.round(s.cpu.busySeconds * 1e6)), 0n), `cpu ${from}..${to}`);
    assert.equal(mem, inRange.reduce((a, s) => a + BigInt(s.mem.usedBytes) * BigInt(s.end - s.start), 0n), `mem ${from}..${to}`);
    assert.equal(got.reduce((a, r) => a + r.samples, 0), inRange.length);
  }
  ledger.close();
});
