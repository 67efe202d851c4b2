// What the ledger keeps for billing, the same on every engine: ids stored compactly and exactly, a
// repeated id with another body refused, ingestion times, coverage, price versions, closed periods
// and the adjustments after them, and pruning. sqlite-ledger.test.ts and postgres-ledger.test.ts run
// these against a fresh ledger of their engine each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OWN_USAGE,
  PruneHorizonError,
  SampleConflictError,
  StaleCloseError,
  type ClosedInvoiceRecord,
  type Ledger,
} from '../../../src/ledger/index.js';
import type { Sample } from '../../../src/schema/sample.js';
import { makeSample } from '../worker/fixtures.js';
import { HOUR, T0, batchOf, ledgerTest } from './contract.js';

const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const JAN = Date.UTC(2027, 0, 1);

const closedRecord = (period: string, periodStart: number, number: number, closedAt: number): ClosedInvoiceRecord => ({
  period,
  periodStart,
  number,
  closedAt,
  digest: `digest-${period}`,
  document: JSON.stringify({ period, number }),
});

export function ledgerBillingContract(engine: string, open: () => Promise<Ledger>): void {
  const withLedger = ledgerTest(open);

  test(`${engine}: raw samples come back with their exact ids, ingestion time and coverage`, withLedger(async (ledger) => {
    const samples: Sample[] = [
      makeSample({ machine: 'web-1', seq: 0, start: T0, labels: { team: 'a' } }),
      makeSample({ machine: 'web-1', seq: 1, start: T0 + 5000, labels: { team: 'a' } }),
      { ...makeSample({ machine: 'odd', start: T0 }), id: 'odd:\t1\\2\n3\r' },
      { ...makeSample({ machine: 'odd', start: T0 + 5000 }), id: 'odd:007' },
      { ...makeSample({ machine: 'odd', start: T0 + 10_000 }), id: 'odd:7' },
    ];
    const ingested = T0 + 3 * HOUR;
    const result = await ledger.applyBatch(batchOf(0, samples.map((s, i) => [i, s] as [number, Sample]), ingested));
    assert.equal(result.inserted, 5);
    const raw = await ledger.rawSamples(T0 - HOUR, T0 + HOUR);
    assert.deepEqual(raw.map((r) => [r.machine, r.id, r.start, r.end, r.ingestedAt, r.adjustedIn]), [
      ['odd', 'odd:\t1\\2\n3\r', T0, T0 + 5000, ingested, 0],
      ['odd', 'odd:007', T0 + 5000, T0 + 10_000, ingested, 0],
      ['odd', 'odd:7', T0 + 10_000, T0 + 15_000, ingested, 0],
      ['web-1', 'web-1:1:0', T0, T0 + 5000, ingested, 0],
      ['web-1', 'web-1:1:1', T0 + 5000, T0 + 10_000, ingested, 0],
    ]);
    assert.deepEqual(raw[3]!.labels, { team: 'a' });
    assert.equal(raw[3]!.cpuBusyUs, 12_500_000n);
    assert.deepEqual((await ledger.rawSamples(T0 - HOUR, T0 + HOUR, ['web-1'])).map((r) => r.id), ['web-1:1:0', 'web-1:1:1']);
    // Coverage: the time the windows cover, in the range sums and the hourly rows alike.
    const usage = await ledger.usage(T0, T0 + HOUR);
    assert.deepEqual(usage.map((u) => [u.machine, u.coveredMs]), [['odd', 15_000], ['web-1', 10_000]]);
    const hourly = await ledger.hourlyUsage(T0, T0 + HOUR);
    assert.deepEqual(hourly.map((h) => [h.hour, h.machine, h.samples, h.coveredMs]), [[T0, 'odd', 3, 15_000], [T0, 'web-1', 2, 10_000]]);
    // The same ids again: duplicates, whatever partition they come on.
    assert.equal((await ledger.applyBatch(batchOf(1, samples.map((s, i) => [i, s] as [number, Sample])))).duplicates, 5);
  }));

  test(`${engine}: an id seen again with another body is refused, nothing of its batch applied`, withLedger(async (ledger) => {
    const s = makeSample({ machine: 'web-1', seq: 5, start: T0, busySeconds: 10 });
    await ledger.applyBatch(batchOf(0, [[0, s]]));
    const changed = { ...s, cpu: { ...s.cpu, busySeconds: 11 } };
    const relabelled = { ...makeSample({ machine: 'web-1', seq: 6, start: T0 + 5000 }) };
    const batch = batchOf(0, [[1, relabelled], [2, changed], [3, { ...s, labels: { team: 'x' } }]]);
    await assert.rejects(ledger.applyBatch(batch), (e: unknown) => {
      assert.ok(e instanceof SampleConflictError);
      assert.deepEqual(e.conflicts.map((c) => [c.offset, c.id]), [[2, 'web-1:1:5'], [3, 'web-1:1:5']]);
      return true;
    });
    assert.equal((await ledger.counts()).samples, 1, 'nothing of the refused batch applied');
    assert.equal(await ledger.nextOffset('billing', 'resource_usage', 0), 1);
    // Within one batch: the second copy of an id with another body conflicts too.
    const fresh = makeSample({ machine: 'web-1', seq: 9, start: T0 + 20_000 });
    await assert.rejects(ledger.applyBatch(batchOf(0, [[1, fresh], [2, { ...fresh, mem: { ...fresh.mem, usedBytes: 1 } }]])), (e: unknown) => {
      assert.ok(e instanceof SampleConflictError);
      assert.deepEqual(e.conflicts.map((c) => c.offset), [2]);
      return true;
    });
    // Ids out of order in one batch: each repeat found, whichever earlier row it repeats.
    const seqs = [20, 21, 22, 21, 25, 22, 20, 26];
    const inOrder = seqs.map((seq, k) => [k + 1, makeSample({ machine: 'web-1', seq, start: T0 + seq * 5000 })] as [number, Sample]);
    const changedLate = inOrder.map(([o, x], k) => [o, k === 5 ? { ...x, cpu: { ...x.cpu, busySeconds: 0.5 } } : x] as [number, Sample]);
    await assert.rejects(ledger.applyBatch(batchOf(3, changedLate)), (e: unknown) => e instanceof SampleConflictError && e.conflicts.length === 1 && e.conflicts[0]!.offset === 6);
    assert.deepEqual(await ledger.applyBatch(batchOf(3, inOrder)), { inserted: 5, duplicates: 3, skipped: 0, rejected: 0, nextOffset: 9, prunedBefore: 0 });
    // Another machine's id run: refused, never billed to either.
    const foreign = { ...makeSample({ machine: 'db-1', start: T0 }), id: 'web-1:1:77' };
    await assert.rejects(ledger.applyBatch(batchOf(2, [[0, foreign]])), (e: unknown) => e instanceof SampleConflictError && /machine "web-1"/.test(e.conflicts[0]!.reason));
    // An exact repeat is a duplicate, as always.
    assert.deepEqual(await ledger.applyBatch(batchOf(0, [[1, s]])), { inserted: 0, duplicates: 1, skipped: 0, rejected: 0, nextOffset: 2, prunedBefore: 0 });
  }));

  test(`${engine}: price versions are stored once, checked inside the transaction, and read back`, withLedger(async (ledger) => {
    const v = { effectiveFrom: NOV, digest: 'a'.repeat(64), document: '{"x":1}', budgets: null };
    let seen: unknown;
    assert.equal(await ledger.addPriceVersion(v, (stored, closedUntil) => (seen = [stored.length, closedUntil]), T0), true);
    assert.deepEqual(seen, [0, null]);
    assert.equal(await ledger.addPriceVersion(v, () => assert.fail('not checked again'), T0), false, 'the same version twice is stored once');
    await assert.rejects(ledger.addPriceVersion({ ...v, digest: 'b'.repeat(64), effectiveFrom: DEC }, () => { throw new Error('refused'); }), /refused/);
    await ledger.addPriceVersion({ ...v, digest: 'c'.repeat(64), effectiveFrom: DEC + HOUR, budgets: '[]' }, () => {}, T0 + 1);
    assert.deepEqual((await ledger.priceVersions()).map((p) => [p.effectiveFrom, p.digest[0], p.budgets, p.addedAt]), [
      [NOV, 'a', null, T0],
      [DEC + HOUR, 'c', '[]', T0 + 1],
    ]);
  }));

  test(`${engine}: a closed period is stored once; later samples of it are adjustments on the first open period`, withLedger(async (ledger) => {
    const inNov = (i: number) => makeSample({ machine: 'web-1', seq: i, start: NOV + 10 * HOUR + i * 5000 });
    await ledger.applyBatch(batchOf(0, [[0, inNov(0)], [1, inNov(1)]]));
    const fingerprint = await ledger.closeFingerprint(NOV);
    assert.deepEqual(fingerprint, { samples: 2, versions: 0, closed: 0, latestClosed: null });
    // A sample arriving between computing and storing the close: refused as stale.
    await ledger.applyBatch(batchOf(0, [[2, inNov(2)]]));
    await assert.rejects(ledger.closePeriod(closedRecord('2026-11', NOV, 1, T0), DEC, fingerprint), StaleCloseError);
    const fresh = await ledger.closeFingerprint(NOV);
    await ledger.closePeriod(closedRecord('2026-11', NOV, 1, T0), DEC, fresh);
    await assert.rejects(ledger.closePeriod(closedRecord('2026-11', NOV, 2, T0), DEC, fresh), StaleCloseError, 'closed twice: the fingerprint moved');
    assert.deepEqual((await ledger.closedInvoices()).map((c) => [c.period, c.periodStart, c.number, c.closedAt, c.digest, c.document]), [
      ['2026-11', NOV, 1, T0, 'digest-2026-11', '{"period":"2026-11","number":1}'],
    ]);
    // Late: two November samples and one of December, after November closed.
    await ledger.applyBatch(batchOf(0, [[3, inNov(3)], [4, inNov(4)], [5, makeSample({ machine: 'web-1', seq: 99, start: DEC + HOUR })]]));
    const own = await ledger.usage(NOV, DEC, OWN_USAGE);
    assert.equal(own[0]!.samples, 3, 'the closed period keeps what it was closed with');
    assert.equal((await ledger.usage(NOV, DEC))[0]!.samples, 5);
    assert.equal((await ledger.usage(NOV, DEC, { adjustedFrom: DEC, adjustedTo: DEC + 1 }))[0]!.samples, 2);
    assert.equal((await ledger.usage(NOV + 10 * HOUR, NOV + 10 * HOUR + 25_000, { adjustedFrom: DEC, adjustedTo: DEC + 1 }))[0]!.samples, 2, 'raw edges filter too');
    assert.deepEqual((await ledger.hourlyUsage(NOV + 10 * HOUR, NOV + 11 * HOUR, OWN_USAGE)).map((h) => h.samples), [3]);
    assert.deepEqual(await ledger.adjustedPeriods(DEC), [NOV]);
    assert.deepEqual(await ledger.adjustedPeriods(JAN), []);
    assert.deepEqual((await ledger.rawSamples(NOV, DEC)).map((r) => r.adjustedIn), [0, 0, 0, DEC, DEC]);
    assert.equal((await ledger.usage(DEC, JAN, OWN_USAGE))[0]!.samples, 1, 'December is open: its own');
  }));

  test(`${engine}: pruning needs a closed period, raises the horizon first, and keeps the rollups`, withLedger(async (ledger) => {
    const samples = Array.from({ length: 30 }, (_, i) => makeSample({ machine: `m${i % 3}`, seq: i, start: NOV + 5 * HOUR + i * 60_000 }));
    await ledger.applyBatch({ ...batchOf(0, samples.map((s, i) => [i, s] as [number, Sample])), maxTimestamp: DEC + 40 * 24 * HOUR });
    await assert.rejects(ledger.prune(DEC, 10), /not closed/);
    await ledger.closePeriod(closedRecord('2026-11', NOV, 1, T0), DEC, await ledger.closeFingerprint(NOV));
    await assert.rejects(ledger.prune(DEC + 1, 10), /not closed/);
    const before = await ledger.usage(NOV, DEC);
    assert.equal(await ledger.prune(DEC, 12), 12);
    assert.deepEqual(await ledger.pruneState(), { prunedBefore: DEC, latestTimestamp: DEC + 40 * 24 * HOUR, rawSamples: 18 });
    assert.equal(await ledger.prune(DEC, 100), 18);
    assert.equal(await ledger.prune(DEC, 100), 0);
    assert.equal((await ledger.rawSamples(NOV, DEC)).length, 0);
    assert.deepEqual(await ledger.usage(NOV, DEC), before, 'whole-month usage comes from the rollups');
    // A batch prepared before the prune, holding a sample before the horizon: refused, to be prepared again.
    const stale = batchOf(0, [[30, makeSample({ machine: 'm0', seq: 100, start: NOV + 20 * HOUR })], [31, makeSample({ machine: 'm0', seq: 101, start: DEC + HOUR })]]);
    await assert.rejects(ledger.applyBatch(stale), (e: unknown) => e instanceof PruneHorizonError && e.prunedBefore === DEC);
    // Prepared with the horizon (the old sample refused by the preparer): applies.
    const result = await ledger.applyBatch({ ...batchOf(0, [[30, 'refused as too late'], [31, makeSample({ machine: 'm0', seq: 101, start: DEC + HOUR })]]), prunedBefore: DEC });
    assert.equal(result.inserted, 1);
    assert.equal(result.prunedBefore, DEC);
  }));
}
