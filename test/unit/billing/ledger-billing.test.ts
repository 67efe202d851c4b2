// Billing through the ledger, on both engines (a SQLite file and a private PostgreSQL): prices
// changing mid-period, pooled tiers across groupings and ranges, closing a period, late samples as
// adjustments, verify and explain, and pruning that keeps them working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger, type Ledger } from '../../../src/ledger/index.js';
import { addLedgerPriceVersion, addRatesVersion, computeInvoice, parseRateCard, type Invoice } from '../../../src/billing/index.js';
import { closePeriod, readInvoice, verifyPeriod } from '../../../src/billing/closed-periods.js';
import { explainLine } from '../../../src/billing/explain.js';
import { parsePeriod } from '../../../src/billing/dates.js';
import { pruneLedger } from '../../../src/billing/retention.js';
import type { Sample } from '../../../src/schema/sample.js';
import { makeSample, tempLedgerPath } from '../worker/fixtures.js';
import { writeSamples } from '../ledger/write-samples.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../../helpers/postgres.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OCT = Date.UTC(2026, 9, 1);
const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const JAN = Date.UTC(2027, 0, 1);
const nov = parsePeriod('period', '2026-11');
const dec = parsePeriod('period', '2026-12');

/** One core busy for the whole hour, every hour of [from, to), no memory: 1 core-hour an hour. */
function hourly(machine: string, labels: Record<string, string>, from: number, to: number, busyCores = 1): Sample[] {
  const out: Sample[] = [];
  for (let t = from; t < to; t += HOUR) out.push(makeSample({ machine, labels, seq: (t - OCT) / HOUR, start: t, windowMs: HOUR, cores: 4, busySeconds: 3600 * busyCores, usedBytes: 0 }));
  return out;
}

const flat = (cpu: number | string) => parseRateCard({ cpu, memory: 0 });
const tiered = parseRateCard({ cpu: { tiers: [{ upTo: 100, price: 1 }, { price: 0.5 }] }, memory: 0 });

let pg: PrivatePostgres | undefined;
before(async () => {
  pg = await startPrivatePostgres();
  process.env.PGPASSWORD = pg.password;
});
after(() => pg?.stop());

const engines: [string, () => Promise<Ledger>][] = [
  ['sqlite', () => openLedger(tempLedgerPath())],
  ['postgres', () => openLedger(pg!.createDatabase(uniqueDatabase('billing')))],
];

for (const [engine, open] of engines) {
  describe(engine, () => {
    const withLedger = (fn: (ledger: Ledger) => Promise<void>) => async () => {
      const ledger = await open();
      try {
        await fn(ledger);
      } finally {
        await ledger.close();
      }
    };

    test('a price change mid-period prices each hour with the version in force, and each line names its versions', withLedger(async (ledger) => {
      await addLedgerPriceVersion(ledger, flat(1), OCT);
      // Effective at 12:30 on the 15th: it first prices the hour from 13:00.
      await addLedgerPriceVersion(ledger, flat(2), NOV + 14 * DAY + 12.5 * HOUR);
      await writeSamples(ledger, [...hourly('web-1', { team: 'a' }, NOV, DEC), ...hourly('web-2', { team: 'b' }, NOV, NOV + 10 * DAY)]);
      const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 5 * DAY });
      // web-1: 349 hours at 1 before 15 Nov 13:00, 371 hours at 2 after; web-2: 240 hours at 1.
      assert.deepEqual(invoice.lines.map((l) => [l.key, l.cpuCoreHours, l.total, l.versions.length]), [
        ['web-1', '720.000000', '1091.000000', 2],
        ['web-2', '240.000000', '240.000000', 1],
      ]);
      assert.equal(invoice.total, '1331.000000');
      assert.deepEqual(invoice.versions.map((v) => v.effectiveFrom), ['2026-10-01T00:00:00.000Z', '2026-11-15T12:30:00.000Z']);
      // A what-if prices everything with the card given, and says so.
      const whatIf = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 5 * DAY, whatIf: flat(3) });
      assert.equal(whatIf.whatIf, true);
      assert.equal(whatIf.total, '2880.000000');
      // Versions are immutable: the same hour twice is refused; none may start inside a closed period.
      await assert.rejects(addLedgerPriceVersion(ledger, flat(4), NOV + 14 * DAY + 12.9 * HOUR), /already takes effect at 2026-11-15T13:00:00.000Z/);
      await closePeriod(ledger, nov, { now: DEC + 5 * DAY });
      await assert.rejects(addLedgerPriceVersion(ledger, flat(4), NOV + 20 * DAY), /before 2026-12-01T00:00:00.000Z, the end of the last closed period/);
    }));

    test("the first `meter rates add` into a ledger priced at the defaults keeps the defaults for the hours before it", withLedger(async (ledger) => {
      await writeSamples(ledger, hourly('web-1', {}, OCT, DEC));
      const before = await computeInvoice(ledger, { from: OCT, to: DEC, by: 'machine', now: DEC });
      assert.equal(before.versions.length, 1, 'no version stored: the defaults, as a version since the epoch');
      // October closed at the defaults; then a new price from 15 November.
      await closePeriod(ledger, parsePeriod('period', '2026-10'), { now: NOV + 5 * DAY });
      const { defaultsKept } = await addRatesVersion(ledger, flat(1), NOV + 14 * DAY, DEC);
      assert.equal(defaultsKept?.effectiveFrom, NOV, 'kept from the end of the last closed period');
      const firstHalf = await computeInvoice(ledger, { from: NOV, to: NOV + 14 * DAY, by: 'machine', now: DEC });
      // 14 days of 1 core-hour an hour at the default 0.031611: not re-priced at 1.
      assert.equal(firstHalf.total, (14 * 24 * 0.031611).toFixed(6));
      const november = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC });
      assert.equal(november.total, (14 * 24 * 0.031611 + 16 * 24 * 1).toFixed(6));
      assert.deepEqual(november.lines[0]!.versions.map((v) => v.effectiveFrom), ['2026-11-01T00:00:00.000Z', '2026-11-15T00:00:00.000Z']);
      // A ledger that already has versions gets only the one asked for.
      assert.equal((await addRatesVersion(ledger, flat(2), DEC, DEC)).defaultsKept, null);
    }));

    test('pooled tiers: by machine, by label and split ranges all give the account total to the micro-unit', withLedger(async (ledger) => {
      await addLedgerPriceVersion(ledger, tiered, OCT);
      // 30 + 60 + 90 core-hours: 180 in all, 100 at 1 and 80 at 0.5 = 140.
      await writeSamples(ledger, [
        ...hourly('a-1', { team: 'a' }, NOV, NOV + 30 * HOUR),
        ...hourly('a-2', { team: 'a' }, NOV + 5 * DAY, NOV + 5 * DAY + 60 * HOUR),
        ...hourly('b-1', { team: 'b' }, NOV + 10 * DAY, NOV + 10 * DAY + 90 * HOUR),
      ]);
      const at = { now: DEC + DAY };
      const byMachine = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', ...at });
      const byTeam = await computeInvoice(ledger, { from: NOV, to: DEC, by: { label: 'team' }, ...at });
      assert.equal(byMachine.total, '140.000000');
      assert.equal(byTeam.total, '140.000000');
      // Average 140/180 per core-hour: a-1 30 x 0.7777... = 23.333333, a-2 46.666667, b-1 70.
      assert.deepEqual(byMachine.lines.map((l) => l.total), ['23.333333', '46.666667', '70.000000']);
      assert.deepEqual(byTeam.lines.map((l) => [l.key, l.total]), [['a', '70.000000'], ['b', '70.000000']]);
      const cut = NOV + 9 * DAY + 1234;
      const first = await computeInvoice(ledger, { from: NOV, to: cut, by: 'machine', ...at });
      const second = await computeInvoice(ledger, { from: cut, to: DEC, by: { label: 'team' }, ...at });
      const m = (x: string) => BigInt(x.replace('.', ''));
      assert.equal(m(first.total) + m(second.total), 140_000_000n, 'ranges that split a period add up to it');
      assert.equal(first.total, '70.000000', 'a range is its share of the period, not restarted tiers (a-1 and a-2 alone would be 90)');
      // A label account: each team is billed on its own tiers (a: 90 at 1; b: 100 at 1 and 0 more... 90 at 1).
      await addLedgerPriceVersion(ledger, parseRateCard({ account: 'team', cpu: { tiers: [{ upTo: 50, price: 1 }, { price: 0.5 }] }, memory: 0 }), OCT + HOUR);
      const perTeam = await computeInvoice(ledger, { from: NOV, to: DEC, by: { label: 'team' }, ...at });
      assert.deepEqual(perTeam.accounts.map((a) => [a.account, a.total]), [['team=a', '70.000000'], ['team=b', '70.000000']]);
      assert.deepEqual(perTeam.lines.map((l) => l.total), ['70.000000', '70.000000']);
    }));

    test('close, a late sample, its adjustment on the next invoice, verify', withLedger(async (ledger) => {
      await addLedgerPriceVersion(ledger, tiered, OCT);
      await writeSamples(ledger, hourly('web-1', { team: 'a' }, NOV, NOV + 100 * HOUR), { now: NOV + 101 * HOUR });
      await assert.rejects(closePeriod(ledger, nov, { now: DEC + DAY }), /grace period until 2026-12-04T00:00:00.000Z.*--force/);
      await assert.rejects(closePeriod(ledger, dec, { now: DEC + 5 * DAY, force: true }), /has not ended/);
      const closed = await closePeriod(ledger, nov, { now: DEC + DAY, force: true });
      assert.equal(closed.closed, true);
      assert.equal(closed.number, 1);
      assert.equal(closed.total, '100.000000');
      assert.equal(closed.closedAt, new Date(DEC + DAY).toISOString());
      await assert.rejects(closePeriod(ledger, nov, { now: DEC + 9 * DAY }), /already closed \(invoice #1/);
      // December usage, and ten late core-hours of November (ingested in December).
      await writeSamples(ledger, hourly('web-1', { team: 'a' }, DEC, DEC + 20 * HOUR), { now: DEC + 2 * DAY });
      await writeSamples(ledger, hourly('web-2', { team: 'b' }, NOV + 20 * DAY, NOV + 20 * DAY + 10 * HOUR), { now: DEC + 2 * DAY });
      // November never changes: the stored invoice, and by label its frozen usage.
      const stored = await readInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 3 * DAY });
      assert.deepEqual(stored, closed);
      const byTeam = await readInvoice(ledger, { from: NOV, to: DEC, by: { label: 'team' }, now: DEC + 3 * DAY });
      assert.deepEqual([byTeam.closed, byTeam.total, byTeam.lines.map((l) => l.key)], [true, '100.000000', ['a']]);
      // December bills them as an adjustment: ten more core-hours in November's pool cost 0.5 each there.
      const december: Invoice = await computeInvoice(ledger, { from: DEC, to: JAN, by: 'machine', now: JAN + DAY });
      assert.equal(december.total, '20.000000');
      assert.deepEqual(december.adjustments.map((a) => [a.period, a.key, a.cpuCoreHours, a.total]), [['2026-11', 'web-2', '10.000000', '5.000000']]);
      assert.equal(december.adjustmentsTotal, '5.000000');
      assert.equal(december.amountDue, '25.000000');
      // Verify: rebuilt from the ledger, identical; a stored invoice edited afterwards is caught.
      assert.deepEqual((await verifyPeriod(ledger, nov)).differences, []);
      assert.equal((await verifyPeriod(ledger, nov)).identical, true);
      const explained = await explainLine(ledger, { period: nov, key: 'web-2', by: 'machine', now: JAN });
      assert.deepEqual(explained.adjustments, [{ billedIn: '2026-12', samples: 10 }]);
      assert.equal(explained.samples, 0, 'nothing of web-2 was billed in November itself');
      // Close December with its adjustment; then verify both still hold.
      const closedDec = await closePeriod(ledger, dec, { now: JAN + 4 * DAY });
      assert.equal(closedDec.number, 2);
      assert.equal(closedDec.amountDue, '25.000000');
      assert.equal((await verifyPeriod(ledger, dec)).identical, true);
    }));

    test('explain: hours, samples, versions, first and last ids, coverage with every gap; pruning keeps invoices and verify', withLedger(async (ledger) => {
      await addLedgerPriceVersion(ledger, flat(1), OCT);
      // web-1 reports 5-minute windows with a 2-hour hole on the 3rd.
      const samples: Sample[] = [];
      for (let t = NOV + 2 * DAY; t < NOV + 4 * DAY; t += 5 * 60_000) {
        if (t >= NOV + 2 * DAY + 10 * HOUR && t < NOV + 2 * DAY + 12 * HOUR) continue;
        samples.push(makeSample({ machine: 'web-1', agentStart: 7, seq: (t - NOV) / 300_000, start: t, windowMs: 5 * 60_000, busySeconds: 30 }));
      }
      await writeSamples(ledger, samples, { now: NOV + 4 * DAY, });
      const e = await explainLine(ledger, { period: nov, key: 'web-1', by: 'machine', now: DEC + 9 * DAY });
      assert.equal(e.samples, samples.length);
      assert.equal(e.hours, 46);
      assert.equal(e.versions.length, 1);
      assert.deepEqual(e.firstSample, { id: `web-1:7:${2 * 24 * 12}`, start: new Date(NOV + 2 * DAY).toISOString() });
      assert.equal(e.lastSample!.id, samples.at(-1)!.id);
      assert.equal(e.coverageFrom, 'raw');
      assert.deepEqual(e.coverage[0]!.gaps, [
        { start: new Date(NOV).toISOString(), end: new Date(NOV + 2 * DAY).toISOString() },
        { start: new Date(NOV + 2 * DAY + 10 * HOUR).toISOString(), end: new Date(NOV + 2 * DAY + 12 * HOUR).toISOString() },
        { start: new Date(NOV + 4 * DAY).toISOString(), end: new Date(DEC).toISOString() },
      ]);
      assert.equal(e.coverage[0]!.sharePercent, Math.round((46 * HOUR / (30 * DAY)) * 10_000) / 100);
      // Closed, then pruned: invoices, verify and explain go on from the rollups.
      const closed = await closePeriod(ledger, nov, { now: DEC + 4 * DAY });
      await ledger.applyBatch({ group: 'billing', topic: 'resource_usage', partition: 0, lastOffset: samples.length, samples: { runs: [], machines: [], labels: [], values: [] }, rejects: [], maxTimestamp: DEC + 40 * DAY });
      const pruned = await pruneLedger(ledger, { batch: 100 });
      assert.equal(pruned.deleted, samples.length);
      assert.deepEqual(await readInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 41 * DAY }), closed);
      assert.equal((await verifyPeriod(ledger, nov)).identical, true);
      const after = await explainLine(ledger, { period: nov, key: 'web-1', by: 'machine', now: DEC + 41 * DAY });
      assert.equal(after.coverageFrom, 'hourly');
      assert.equal(after.firstSample, null);
      assert.equal(after.samples, samples.length);
      assert.equal(after.coverage[0]!.gaps.length, 3);
      assert.equal(after.rawPrunedBefore, new Date(DEC).toISOString());
    }));
  });
}
