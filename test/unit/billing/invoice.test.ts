import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger, type Ledger } from '../../../src/ledger/index.js';
import {
  billingPeriod,
  computeInvoice,
  formatInvoice,
  ledgerStats,
  machineSummaries,
  parseRateCard,
  loadRateCard,
  addLedgerPriceVersion,
  type Invoice,
  type RateCard,
} from '../../../src/billing/index.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, expectedFlatCost, makeSample, message, micros, tempLedgerPath } from '../../unit/worker/fixtures.js';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);
const DEC = Date.UTC(2026, 11, 1);
const defaults = loadRateCard();

/** A ledger holding `samples`, priced with `card` (a price version from before them). */
async function ledgerWith(samples: (Sample | string)[], now: number, card: RateCard = defaults): Promise<Ledger> {
  const ledger = await openLedger(tempLedgerPath());
  await addLedgerPriceVersion(ledger, card, NOV - 31 * 24 * HOUR);
  const prepared = new BatchPreparer().prepare(samples.map((s, i) => message(s, i)));
  await ledger.applyBatch({
    group: 'g',
    topic: 't',
    partition: 0,
    lastOffset: samples.length - 1,
    samples: prepared.samples,
    rejects: prepared.rejects,
    now,
  });
  return ledger;
}

/** A fleet over November: three machines, two teams, samples every 10 minutes for 10 days. */
function fleet(): Sample[] {
  const samples: Sample[] = [];
  const machines = [
    { machine: 'web-1', labels: { team: 'search', env: 'prod' }, cores: 8 },
    { machine: 'web-2', labels: { team: 'search', env: 'dev' }, cores: 4 },
    { machine: 'db-1', labels: { team: 'storage', env: 'prod' }, cores: 16 },
  ];
  let i = 0;
  for (let t = NOV + 3 * 24 * HOUR; t < NOV + 13 * 24 * HOUR; t += 10 * 60_000) {
    for (const m of machines) {
      i++;
      samples.push(
        makeSample({
          ...m,
          start: t,
          windowMs: 10 * 60_000,
          busySeconds: ((i * 7919) % (m.cores * 600 * 1000)) / 1000 + 0.000001 * (i % 3),
          usedBytes: 2 * GiB + ((i * 104_729) % (6 * GiB)),
          totalBytes: 32 * GiB,
        }),
      );
    }
  }
  return samples;
}

test('billingPeriod is the UTC calendar month', async () => {
  assert.deepEqual(billingPeriod(Date.UTC(2026, 10, 15, 12)), { from: NOV, to: DEC, label: '2026-11' });
  assert.deepEqual(billingPeriod(0, '2026-12'), { from: DEC, to: Date.UTC(2027, 0, 1), label: '2026-12' });
  assert.throws(() => billingPeriod(0, '2026-13'), /--period: "2026-13" has no month 13; give YYYY-MM/);
  assert.throws(() => billingPeriod(0, 'nov'), /--period/);
});

/** Within one micro-unit: a line is its exact share of its pool's rounded total, by largest remainder. */
const near = (actual: string, expected: bigint, what: string) => {
  const d = micros(actual) - expected;
  assert.ok(d >= -1n && d <= 1n, `${what}: ${actual} vs ${expected}`);
};

test('the invoice of a past month equals the cost computed from the raw samples', async () => {
  const samples = fleet();
  const ledger = await ledgerWith(samples, NOV + 14 * 24 * HOUR);
  const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 1 });
  assert.equal(invoice.currency, 'USD');
  assert.equal(invoice.from, '2026-11-01T00:00:00.000Z');
  assert.equal(invoice.to, '2026-12-01T00:00:00.000Z');
  assert.equal(invoice.forecast, undefined, 'no forecast for a closed period');
  assert.deepEqual(invoice.lines.map((l) => l.key), ['db-1', 'web-1', 'web-2']);
  let total = 0n;
  for (const line of invoice.lines) {
    const mine = samples.filter((s) => s.machine === line.key);
    const expected = expectedFlatCost(mine, 31_611n, 4_237n);
    near(line.cpuCost, expected.cpu, `${line.key} cpu`);
    near(line.memCost, expected.mem, `${line.key} mem`);
    total += micros(line.total);
  }
  // The pool's total is rounded once; the lines add up to it exactly.
  const all = expectedFlatCost(samples, 31_611n, 4_237n);
  assert.equal(micros(invoice.total), all.cpu + all.mem);
  assert.equal(total, micros(invoice.total));
  assert.equal(invoice.whatIf, false);
  assert.equal(invoice.versions.length, 1);
  assert.deepEqual(invoice.lines[0]!.versions, invoice.versions, 'each line names the versions that priced it');
  // Reproducible to the last digit.
  assert.deepEqual(await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 1 }), invoice);
  await ledger.close();
});

test('grouping by label sums machines; a missing label is its own line', async () => {
  const samples = [...fleet(), makeSample({ machine: 'lone', start: NOV + 5 * HOUR })];
  const ledger = await ledgerWith(samples, NOV + 14 * 24 * HOUR);
  const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: { label: 'team' }, now: DEC + 1 });
  assert.deepEqual(invoice.lines.map((l) => l.key), ['(none)', 'search', 'storage']);
  const search = invoice.lines.find((l) => l.key === 'search')!;
  const expected = expectedFlatCost(samples.filter((s) => s.labels.team === 'search'), 31_611n, 4_237n);
  near(search.cpuCost, expected.cpu, 'search cpu');
  near(search.memCost, expected.mem, 'search mem');
  const byMachine = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 1 });
  assert.equal(invoice.total, byMachine.total, 'every grouping gives the same total');
  await ledger.close();
});

test('plans by label and volume tiers change the price of exactly the chosen machines', async () => {
  const samples = fleet();
  const card = parseRateCard({
    plans: [{ name: 'prod', match: { labels: { env: 'prod' } }, cpu: 0.02, memory: { mode: 'volume', tiers: [{ upTo: 1, price: 1 }, { price: 0.001 }] } }],
  });
  const ledger = await ledgerWith(samples, NOV + 14 * 24 * HOUR, card);
  const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC + 1 });
  const line = (key: string) => invoice.lines.find((l) => l.key === key)!;
  for (const key of ['web-1', 'db-1']) {
    const e = expectedFlatCost(samples.filter((s) => s.machine === key), 20_000n, 1_000n);
    near(line(key).cpuCost, e.cpu, key);
    near(line(key).memCost, e.mem, `${key}: volume tier above 1 GiB-hour`);
  }
  const dev = expectedFlatCost(samples.filter((s) => s.machine === 'web-2'), 31_611n, 4_237n);
  near(line('web-2').cpuCost, dev.cpu, 'web-2 is dev: default prices');
  near(line('web-2').memCost, dev.mem, 'web-2 is dev: default prices');
  await ledger.close();
});

test('graduated tiers apply to the account over the period; a range gets its share, never restarted tiers', async () => {
  // 10 samples of one machine, each one core-hour of CPU: 10 core-hours in the month.
  const samples = Array.from({ length: 10 }, (_, i) =>
    makeSample({ machine: 'm', start: NOV + i * HOUR, windowMs: HOUR, cores: 1, busySeconds: 3600, usedBytes: 0 }),
  );
  const card = parseRateCard({ cpu: { tiers: [{ upTo: 4, price: 1 }, { upTo: '7.5', price: 0.5 }, { price: 0.1 }] } });
  const ledger = await ledgerWith(samples, NOV + 11 * HOUR, card);
  const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: DEC });
  // 4 x 1 + 3.5 x 0.5 + 2.5 x 0.1 = 6.0
  assert.equal(invoice.lines[0]!.cpuCoreHours, '10.000000');
  assert.equal(invoice.lines[0]!.cpuCost, '6.000000');
  // The first 5 hours: half the usage, half the period's pricing (not 4 + 0.5 from restarted tiers).
  const part = await computeInvoice(ledger, { from: NOV, to: NOV + 5 * HOUR, by: 'machine', now: DEC });
  assert.equal(part.lines[0]!.cpuCost, '3.000000');
  const rest = await computeInvoice(ledger, { from: NOV + 5 * HOUR, to: DEC, by: 'machine', now: DEC });
  assert.equal(rest.lines[0]!.cpuCost, '3.000000', 'ranges that split a period add up to it');
  await ledger.close();
});

test('an open period forecasts the total by the chosen method, with an interval', async () => {
  // One machine, one core-hour of CPU per hour, for the first 10 days of November.
  const samples = Array.from({ length: 240 }, (_, i) =>
    makeSample({ machine: 'm', start: NOV + i * HOUR, windowMs: HOUR, cores: 2, busySeconds: 3600, usedBytes: 0 }),
  );
  const now = NOV + 240 * HOUR; // 10 days in, 20 days left
  const ledger = await ledgerWith(samples, now, parseRateCard({ cpu: 1 }));
  const invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now });
  assert.equal(invoice.total, '240.000000');
  // A flat hour after hour: every method says 1 per hour for the 480 hours left.
  assert.ok(Math.abs(Number(invoice.lines[0]!.forecast) - 720) < 0.001, invoice.lines[0]!.forecast);
  assert.equal(invoice.forecast, invoice.lines[0]!.forecast);
  assert.equal(invoice.forecastDetail!.model, 'holt-winters');
  assert.equal(invoice.forecastDetail!.shortHistory, false);
  assert.ok(invoice.forecastDetail!.lower !== null && Math.abs(Number(invoice.forecastDetail!.lower) - 720) < 0.01);
  const table = formatInvoice(invoice, 'table', { keyTitle: 'MACHINE' });
  assert.match(table, /FORECAST/);
  await ledger.close();
});

test('machine summaries give the period cost and the recent cost per hour', async () => {
  const samples = Array.from({ length: 48 }, (_, i) =>
    makeSample({ machine: 'm', labels: { team: 'x' }, start: NOV + i * HOUR, windowMs: HOUR, cores: 4, busySeconds: i < 47 ? 3600 : 7200, usedBytes: 0 }),
  );
  const ledger = await ledgerWith([...samples, 'garbage'], NOV + 48 * HOUR, parseRateCard({ cpu: 1 }));
  const [m] = await machineSummaries(ledger, { now: NOV + 48 * HOUR });
  assert.deepEqual(m, {
    machine: 'm',
    labels: { team: 'x' },
    lastSeen: NOV + 48 * HOUR,
    firstSeen: NOV,
    periodCost: '49.000000',
    costPerHour: '2.000000',
    rateCoveredMs: HOUR,
    currency: 'USD',
  });
  const stats = await ledgerStats(ledger);
  assert.equal(stats.samples, 48);
  assert.deepEqual(stats.dlq, { total: 1, byReason: { 'not-json': 1 } });
  assert.deepEqual(stats.offsets, [{ group: 'g', topic: 't', partition: 0, nextOffset: 49 }]);
  await ledger.close();
});

test('the table fits 80 columns and CSV carries every digit', async () => {
  const ledger = await ledgerWith(fleet(), NOV + 14 * 24 * HOUR);
  const invoice: Invoice = await computeInvoice(ledger, { from: NOV, to: DEC, by: 'machine', now: NOV + 20 * 24 * HOUR });
  const table = formatInvoice(invoice, 'table', { keyTitle: 'MACHINE' });
  for (const line of table.split('\n')) assert.ok(line.length <= 80, `too wide: ${line}`);
  assert.match(table, /^MACHINE +CORE-H +GIB-H +CPU +MEMORY +TOTAL +FORECAST$/m);
  assert.match(table, /^\(total\) +\d+\.\d+ +\d+\.\d+$/m);
  // A long key is cut, and big amounts fall back to cents.
  const wide: Invoice = {
    ...invoice,
    lines: [{ ...invoice.lines[0]!, key: 'x'.repeat(60), total: '123456789.123456', forecast: '999999999.999999' }],
  };
  for (const line of formatInvoice(wide, 'table', { keyTitle: 'MACHINE' }).split('\n')) assert.ok(line.length <= 80, line);
  const csv = formatInvoice(invoice, 'csv', { keyTitle: 'MACHINE' });
  const rows = csv.trimEnd().split('\r\n');
  assert.equal(rows[0], 'key,cpuCoreHours,memGiBHours,cpuCost,memCost,total,forecast,currency');
  assert.equal(rows.length, invoice.lines.length + 2);
  assert.equal(rows.at(-1), `(total),,,,,${invoice.total},${invoice.forecast},USD`);
  assert.equal(rows[1]!.split(',')[5], invoice.lines[0]!.total);
  const json = JSON.parse(formatInvoice(invoice, 'json', { keyTitle: 'MACHINE' })) as Invoice;
  assert.deepEqual(json, invoice);
  await ledger.close();
});
