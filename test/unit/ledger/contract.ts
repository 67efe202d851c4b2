// The ledger interface's behaviour, the same on every engine: sqlite-ledger.test.ts and
// postgres-ledger.test.ts run these against a fresh ledger of their engine each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LedgerGapError, LogBehindLedgerError, type Ledger, type LedgerBatch } from '../../../src/ledger/index.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, makeSample, message } from '../worker/fixtures.js';

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2026, 10, 30, 22, 0, 0); // 2026-11-30T22:00Z, two hours before December

export function batchOf(partition: number, offsets: [number, Sample | string][], now = T0 + 10 * HOUR): LedgerBatch {
  const preparer = new BatchPreparer();
  const prepared = preparer.prepare(offsets.map(([o, s]) => message(s, o)));
  return {
    group: 'billing',
    topic: 'resource_usage',
    partition,
    lastOffset: Math.max(...offsets.map(([o]) => o)),
    samples: prepared.samples,
    rejects: prepared.rejects,
    maxTimestamp: prepared.maxTimestamp,
    now,
  };
}

/** A test body run against a fresh ledger from `open`, closed afterwards, pass or fail. */
export const ledgerTest = (open: () => Promise<Ledger>) => (fn: (ledger: Ledger) => Promise<void>) => async () => {
  const ledger = await open();
  try {
    await fn(ledger);
  } finally {
    await ledger.close();
  }
};

/** Registers the contract's tests; `open` gives a fresh, empty, writable ledger each time. */
export function ledgerContract(engine: string, open: () => Promise<Ledger>): void {
  const withLedger = ledgerTest(open);

  test(`${engine}: a batch writes samples, rollups, DLQ counts and the offset; a replay of it changes nothing`, withLedger(async (ledger) => {
    const s1 = makeSample({ machine: 'web-1', start: T0, labels: { team: 'a' } });
    const s2 = makeSample({ machine: 'web-1', start: T0 + 5000, labels: { team: 'a' } });
    const s3 = makeSample({ machine: 'db-1', start: T0 + HOUR, cores: 4, busySeconds: 1 });
    const batch = batchOf(0, [[10, s1], [11, s2], [12, s1], [13, 'not json'], [14, s3]]);
    assert.deepEqual(await ledger.applyBatch(batch), { inserted: 3, duplicates: 1, skipped: 0, rejected: 1, nextOffset: 15, prunedBefore: 0 });
    assert.equal(await ledger.nextOffset('billing', 'resource_usage', 0), 15);
    assert.deepEqual(await ledger.counts(), { samples: 3, duplicates: 1, dlq: 1, lost: 0, skipped: 0 });
    assert.deepEqual(await ledger.dlqCounts(), [{ topic: 'resource_usage', reason: 'not-json', count: 1, lastDetail: 'value is not JSON' }]);
    // The same batch again (a crash before the Kafka commit): everything below offset 15 is skipped.
    assert.deepEqual(await ledger.applyBatch(batch), { inserted: 0, duplicates: 0, skipped: 5, rejected: 0, nextOffset: 15, prunedBefore: 0 });
    assert.equal((await ledger.dlqCounts())[0]!.count, 1, 'DLQ counted once');
    // The same samples at new offsets (an agent replaying its spool): ids dedupe them.
    const replay = await ledger.applyBatch(batchOf(0, [[15, s1], [16, s2], [17, s3]]));
    assert.deepEqual(replay, { inserted: 0, duplicates: 3, skipped: 0, rejected: 0, nextOffset: 18, prunedBefore: 0 });
    // Samples are unique across the whole ledger: the same sample on another partition is a duplicate too.
    const elsewhere = await ledger.applyBatch(batchOf(2, [[0, s3]]));
    assert.equal(elsewhere.duplicates, 1);
    const usage = await ledger.usage(T0, T0 + 2 * HOUR);
    assert.equal(usage.reduce((a, r) => a + r.samples, 0), 3);
    assert.equal(usage.reduce((a, r) => a + r.cpuBusyUs, 0n), 26_000_000n);
    assert.deepEqual(
      (await ledger.machines()).map((m) => [m.machine, m.samples, m.lastSeen, m.labels]),
      [
        ['db-1', 1, T0 + HOUR + 5000, {}],
        ['web-1', 2, T0 + 10_000, { team: 'a' }],
      ],
    );
  }));

  test(`${engine}: ids with tabs, backslashes and newlines are stored as they are, and deduplicated`, withLedger(async (ledger) => {
    const odd = { ...makeSample({ machine: 'odd', start: T0 }), id: 'odd:\t1\\2\n3\r' };
    assert.equal((await ledger.applyBatch(batchOf(0, [[0, odd], [1, { ...odd }]]))).inserted, 1);
    assert.equal((await ledger.applyBatch(batchOf(1, [[0, { ...odd }]]))).duplicates, 1);
    assert.deepEqual((await ledger.machines()).map((m) => m.machine), ['odd']);
  }));

  test(`${engine}: offsets never move backwards, and partitions are independent`, withLedger(async (ledger) => {
    await ledger.applyBatch(batchOf(1, [[100, makeSample({ start: T0 })]]));
    await ledger.applyBatch(batchOf(2, [[5, makeSample({ start: T0 + 5000 })]]));
    // An older batch for partition 1 (a zombie consumer): skipped, offset stays at 101.
    const stale = await ledger.applyBatch(batchOf(1, [[50, makeSample({ start: T0 + 10_000 })]]));
    assert.equal(stale.skipped, 1);
    assert.deepEqual(await ledger.offsets(), [
      { group: 'billing', topic: 'resource_usage', partition: 1, nextOffset: 101 },
      { group: 'billing', topic: 'resource_usage', partition: 2, nextOffset: 6 },
    ]);
  }));

  test(`${engine}: a batch past the ledger offset is refused; a retention gap is accepted only when said, and counted lost`, withLedger(async (ledger) => {
    await ledger.applyBatch(batchOf(0, [[0, makeSample({ start: T0 })], [1, makeSample({ start: T0 + 5000 })]]));
    const later = batchOf(0, [[4, makeSample({ start: T0 + 20_000 })]]);
    await assert.rejects(ledger.applyBatch({ ...later, fetchedOffset: 4 }), (e: unknown) => e instanceof LedgerGapError && e.nextOffset === 2);
    await assert.rejects(ledger.applyBatch(later), LedgerGapError, 'without fetchedOffset, the lowest offset counts');
    assert.equal(await ledger.nextOffset('billing', 'resource_usage', 0), 2);
    // Fetched from 2, with 2..3 compacted away: contiguous, so it applies.
    assert.equal((await ledger.applyBatch({ ...later, fetchedOffset: 2 })).inserted, 1);
    const afterRetention = batchOf(0, [[10, makeSample({ start: T0 + 40_000 })]]);
    await assert.rejects(ledger.applyBatch(afterRetention), LedgerGapError);
    assert.equal((await ledger.applyBatch({ ...afterRetention, retentionGap: true })).inserted, 1);
    assert.equal((await ledger.counts()).lost, 5);
  }));

  test(`${engine}: a claimed partition holds its first batch to the rules, and a log behind the ledger is refused`, withLedger(async (ledger) => {
    assert.equal(await ledger.claimPartition('billing', 'resource_usage', 0, 7), 7);
    assert.equal(await ledger.claimPartition('billing', 'resource_usage', 0, 0), 7, 'a claim never moves an offset');
    // The first batch failed; the next one, fetched from 9, must not step over 7..8.
    await assert.rejects(ledger.applyBatch({ ...batchOf(0, [[9, makeSample({ start: T0 })]]), fetchedOffset: 9 }), LedgerGapError);
    assert.equal((await ledger.applyBatch({ ...batchOf(0, [[7, makeSample({ start: T0 })], [8, makeSample({ start: T0 + 5000 })]]), fetchedOffset: 7, highWatermark: 9 })).nextOffset, 9);
    // The topic was re-created: its log ends at 3, behind the ledger's 9.
    await assert.rejects(
      ledger.applyBatch({ ...batchOf(0, [[0, makeSample({ start: T0 + 60_000 })]]), fetchedOffset: 0, highWatermark: 3 }),
      (e: unknown) => e instanceof LogBehindLedgerError && e.logEnd === 3 && e.nextOffset === 9,
    );
    assert.equal((await ledger.counts()).samples, 2);
  }));

  test(`${engine}: the recovery reset moves an offset, is recorded, and counts what it passes over`, withLedger(async (ledger) => {
    await ledger.applyBatch(batchOf(0, [[0, makeSample({ start: T0 })], [1, makeSample({ start: T0 + 5000 })]]));
    const back = await ledger.resetOffset({ group: 'billing', topic: 'resource_usage', partition: 0, toOffset: 0, reason: 'topic re-created', at: T0 });
    assert.deepEqual(back, { group: 'billing', topic: 'resource_usage', partition: 0, fromOffset: 2, toOffset: 0, skipped: 0, reason: 'topic re-created', at: T0 });
    const ahead = await ledger.resetOffset({ group: 'billing', topic: 'resource_usage', partition: 0, toOffset: 40, reason: 'to the log end', at: T0 + 1 });
    assert.equal(ahead.skipped, 40);
    assert.equal(await ledger.nextOffset('billing', 'resource_usage', 0), 40);
    assert.equal((await ledger.counts()).skipped, 40);
    assert.deepEqual((await ledger.offsetResets()).map((r) => [r.fromOffset, r.toOffset, r.skipped]), [
      [2, 0, 0],
      [0, 40, 40],
    ]);
  }));

  test(`${engine}: a ledger has an identity; budget alerts are remembered`, withLedger(async (ledger) => {
    assert.match(ledger.identity.id, /^[0-9a-f-]{16,}$/);
    assert.ok(ledger.identity.name.length > 0);
    const alert = { budget: 'team-a', period: '2026-11', threshold: 80 };
    assert.equal(await ledger.alertWasSent(alert), false);
    await ledger.recordAlertSent(alert, T0);
    await ledger.recordAlertSent(alert, T0 + 1);
    assert.equal(await ledger.alertWasSent(alert), true);
  }));

  test(`${engine}: usage over any range equals the sum of the raw samples starting in it`, withLedger(async (ledger) => {
    const samples: Sample[] = [];
    // Samples every 7 minutes for 8 hours across the month boundary, odd sizes so nothing divides evenly.
    for (let i = 0, t = T0 - 3 * HOUR; t < T0 + 5 * HOUR; i++, t += 7 * 60_000) {
      samples.push(makeSample({ machine: i % 3 ? 'web-1' : 'db-1', start: t, windowMs: 7 * 60_000, busySeconds: (i % 17) + 0.123457, usedBytes: 3 * GiB + i * 4099 }));
    }
    await ledger.applyBatch(batchOf(0, samples.map((s, i) => [i, s] as [number, Sample])));
    const ranges: [number, number][] = [
      [T0 - 3 * HOUR, T0 + 5 * HOUR],
      [Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1)],
      [Date.UTC(2026, 11, 1), Date.UTC(2027, 0, 1)],
      [T0 - 2 * HOUR - 123, T0 + 3 * HOUR + 999],
      [T0 + 60_000, T0 + 20 * 60_000],
    ];
    for (const [from, to] of ranges) {
      const inRange = samples.filter((s) => s.start >= from && s.start < to);
      const got = await ledger.usage(from, to);
      assert.equal(got.reduce((a, r) => a + r.cpuBusyUs, 0n), inRange.reduce((a, s) => a + BigInt(Math.round(s.cpu.busySeconds * 1e6)), 0n), `cpu ${from}..${to}`);
      assert.equal(got.reduce((a, r) => a + r.memByteMs, 0n), inRange.reduce((a, s) => a + BigInt(s.mem.usedBytes) * BigInt(s.end - s.start), 0n), `mem ${from}..${to}`);
      assert.equal(got.reduce((a, r) => a + r.samples, 0), inRange.length);
    }
  }));

  test(`${engine}: sums beyond 2^53 come back exact`, withLedger(async (ledger) => {
    // 2,000 samples of a 64 TiB machine over 6-day windows: byte-ms sums far beyond a double's 2^53.
    const windowMs = 6 * 24 * HOUR;
    const samples = Array.from({ length: 2000 }, (_, i) =>
      makeSample({ machine: 'huge', seq: i, start: T0 - windowMs - 5000 + i, windowMs, cores: 4096, busySeconds: 4096 * 6 * 24 * 3600 - i * 0.000001, usedBytes: 64 * 1024 * GiB - i, totalBytes: 64 * 1024 * GiB }),
    );
    const batch = batchOf(0, samples.map((s, i) => [i, s] as [number, Sample]), T0);
    assert.equal(batch.rejects.length, 0);
    await ledger.applyBatch(batch);
    const got = await ledger.usage(T0 - 2 * windowMs, T0);
    const mem = samples.reduce((a, s) => a + BigInt(s.mem.usedBytes) * BigInt(windowMs), 0n);
    assert.ok(mem > 2n ** 53n);
    assert.equal(got.reduce((a, r) => a + r.memByteMs, 0n), mem);
    assert.equal(got.reduce((a, r) => a + r.cpuBusyUs, 0n), samples.reduce((a, s) => a + BigInt(Math.round(s.cpu.busySeconds * 1e6)), 0n));
  }));
}
