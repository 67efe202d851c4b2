// Rates that are right from the first minute, forecasts that say what they rest on, and a backtest
// of the ledger's own history with a known answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger, type Ledger } from '../../../src/ledger/index.js';
import { addLedgerPriceVersion, computeInvoice, registerWorkerRates, costPerHour, evaluateBudgets, parseRateCard } from '../../../src/billing/index.js';
import { ledgerBacktest } from '../../../src/billing/ledger-backtest.js';
import type { Sample } from '../../../src/schema/sample.js';
import { makeSample, tempLedgerPath } from '../worker/fixtures.js';
import { writeSamples } from '../ledger/write-samples.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOV = Date.UTC(2026, 10, 1);

async function ledgerWith(samples: Sample[], card = parseRateCard({ cpu: 1, memory: 0 })): Promise<Ledger> {
  const ledger = await openLedger(tempLedgerPath());
  await addLedgerPriceVersion(ledger, card, NOV - 60 * DAY);
  for (let i = 0; i < samples.length; i += 5000) await writeSamples(ledger, samples.slice(i, i + 5000));
  return ledger;
}

/** `machines` machines sampled every 5 s over [from, to), each 2 cores busy (2 core-hours an hour). */
function fleet(prefix: string, machines: number, from: number, to: number): Sample[] {
  const out: Sample[] = [];
  for (let t = from; t < to; t += 5000) {
    for (let m = 0; m < machines; m++) out.push(makeSample({ machine: `${prefix}-${m}`, labels: { team: prefix }, seq: (t - from) / 5000, start: t, windowMs: 5000, cores: 4, busySeconds: 10, usedBytes: 0 }));
  }
  return out;
}

test('a machine that started two minutes ago shows its true hourly rate; the fleet rate is the sum of running machines', async () => {
  const now = NOV + 10 * DAY + 20 * 60_000;
  // An old machine running all along, one that started two minutes ago, one that stopped an hour ago.
  const ledger = await ledgerWith([...fleet('old', 1, now - 3 * HOUR, now), ...fleet('new', 1, now - 2 * 60_000, now), ...fleet('gone', 1, now - 5 * HOUR, now - HOUR)]);
  try {
    const rates = new Map((await costPerHour(ledger, 'machine', { now })).map((r) => [r.key, r]));
    // Each running machine: 2 core-hours an hour at 1 = 2.000000 per hour.
    for (const key of ['old-0', 'new-0']) {
      const rate = Number(rates.get(key)!.perHourMicros) / 1e6;
      assert.ok(Math.abs(rate - 2) / 2 <= 0.05, `${key}: ${rate} per hour (its two minutes over two minutes, not over an hour)`);
    }
    assert.equal(rates.get('new-0')!.minCoveredMs, 2 * 60_000);
    assert.equal(rates.get('gone-0')!.stopped, 1, 'a machine silent for an hour costs nothing now');
    const [fleetRate] = await costPerHour(ledger, 'fleet', { now });
    assert.equal(fleetRate!.perHourMicros, 4_000_000n);
    assert.deepEqual([fleetRate!.machines, fleetRate!.stopped], [2, 1]);
  } finally {
    await ledger.close();
  }
});

test('a fleet that appeared an hour ago is forecast from that hour, flagged as short history, and its budget overrun is flagged', async () => {
  const start = NOV + 3 * DAY + 12 * HOUR + 17 * 60_000;
  const now = start + HOUR;
  const budgets = parseRateCard({ cpu: 1, memory: 0, budgets: [{ label: 'team=new', amount: 1000 }] }).budgets!;
  const ledger = await ledgerWith(fleet('new', 10, start, now));
  try {
    const invoice = await computeInvoice(ledger, { from: NOV, to: NOV + 30 * DAY, by: { label: 'team' }, now });
    const f = invoice.forecastDetail!;
    assert.equal(f.shortHistory, true);
    assert.equal(f.fallback, true);
    assert.match(f.note, /run-rate.*only 1\.0 h of history, less than a day: a guess/);
    // 10 machines x 2 core-hours an hour at 1 = 20 an hour, for the rest of the month.
    const expected = 20 + 20 * ((NOV + 30 * DAY - now) / HOUR);
    assert.ok(Math.abs(Number(invoice.forecast) - expected) / expected < 0.01, `forecast ${invoice.forecast}, expected about ${expected}`);
    const [status] = await evaluateBudgets(ledger, { budgets, now });
    assert.equal(status!.level, 'over', 'the overrun is flagged within the first hour');
    assert.equal(status!.shortHistory, true);
  } finally {
    await ledger.close();
  }
});

test("a backtest of the ledger's own history with a known answer: a pure weekly cycle", async () => {
  // One machine from Monday 5 January 2026 for 8 weeks: 2 core-hours an hour on weekdays, 1 at weekends.
  const monday = Date.UTC(2026, 0, 5);
  const samples: Sample[] = [];
  for (let h = 0; h < 56 * 24; h++) {
    const t = monday + h * HOUR;
    const weekend = new Date(t).getUTCDay() % 6 === 0;
    samples.push(makeSample({ machine: 'm', seq: h, start: t, windowMs: HOUR, cores: 4, busySeconds: weekend ? 3600 : 7200, usedBytes: 0 }));
  }
  const ledger = await ledgerWith(samples);
  try {
    const result = await ledgerBacktest(ledger, { now: monday + 56 * DAY, horizonsDays: [14], slidingDays: 0 });
    // February 2026: 20 weekdays x 48 + 8 weekend days x 24 = 1152; on the 15th (a Sunday) 576 are
    // spent and the run-rate sees Saturday's 1 an hour: 576 + 336 = 912, 20.83% low; the seasonal
    // methods know the cycle.
    const february = result.cases.filter((c) => c.period === '2026-02');
    const by = Object.fromEntries(february.map((c) => [c.method, c]));
    assert.equal(by['run-rate']!.actual, 1152 * 1e6);
    assert.equal(by['run-rate']!.forecast, 912 * 1e6);
    assert.ok(Math.abs(by['run-rate']!.errorPercent + 20.833333) < 1e-4);
    assert.equal(by['seasonal-naive']!.forecast, 1152 * 1e6);
    assert.ok(Math.abs(by['chosen']!.errorPercent) < 1e-6);
    assert.deepEqual(result.rows.map((r) => r.method), ['run-rate', 'seasonal-naive', 'chosen']);
  } finally {
    await ledger.close();
  }
});

test('workers of a group starting together with the same card register it once, and all start; a different card for that hour is refused', async () => {
  const path = tempLedgerPath();
  const ledgers = await Promise.all([openLedger(path), openLedger(path), openLedger(path)]);
  const card = parseRateCard({ cpu: 2, memory: 1 }, 'rates.json');
  const now = Date.UTC(2026, 11, 2, 0, 49, 39, 244);
  try {
    const results = await Promise.all(ledgers.map((l, i) => registerWorkerRates(l, card, true, now + i)));
    assert.equal(results.filter((r) => r.added).length, 1);
    assert.equal(new Set(results.map((r) => r.version.digest)).size, 1);
    assert.equal((await ledgers[0]!.priceVersions()).length, 1);
    const other = parseRateCard({ cpu: 3, memory: 1 }, 'other.json');
    await assert.rejects(registerWorkerRates(ledgers[1]!, other, true, now + 10), /--rates other\.json differs from price version/);
  } finally {
    for (const l of ledgers) await l.close();
  }
});
