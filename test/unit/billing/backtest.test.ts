import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backtest, slidingPeriods, type BacktestRow } from '../../../src/billing/backtest.js';
import { simulatedFleetCost } from './simulated-fleet.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MONDAY = Date.UTC(2026, 0, 5); // 8 weeks from here end on 2 March 2026
const FEBRUARY = { from: Date.UTC(2026, 1, 1), to: Date.UTC(2026, 2, 1), label: '2026-02' };
const row = (rows: BacktestRow[], horizonDays: number, method: string) => rows.find((r) => r.horizonDays === horizonDays && r.method === method)!;

test('a known answer: a pure weekly cycle, February 2026, 14 days before its end', () => {
  // 2 per hour on weekdays, 1 at weekends. February 2026 has 20 weekdays and 8 weekend days:
  // 20 x 48 + 8 x 24 = 1152. On 15 February (a Sunday) 576 have been spent; the run-rate sees
  // Saturday's 1 per hour and forecasts 576 + 336 = 912: 20.833% low. Seasonal-naive repeats last
  // week exactly, and Holt-Winters has learnt the cycle: no error.
  const hourly = Array.from({ length: 56 * 24 }, (_, h) => (new Date(MONDAY + h * HOUR).getUTCDay() % 6 === 0 ? 1 : 2));
  const result = backtest({ hourly, start: MONDAY, periods: [FEBRUARY], horizonsDays: [14] });
  const cases = Object.fromEntries(result.cases.map((c) => [c.method, c]));
  assert.equal(cases['run-rate']!.actual, 1152);
  assert.equal(cases['run-rate']!.forecast, 912);
  assert.ok(Math.abs(cases['run-rate']!.errorPercent - -20.833333) < 1e-4);
  assert.equal(cases['seasonal-naive']!.forecast, 1152);
  assert.equal(cases['chosen']!.model, 'holt-winters');
  assert.ok(Math.abs(cases['chosen']!.errorPercent) < 1e-9);
  const runRate = row(result.rows, 14, 'run-rate');
  assert.equal(runRate.cases, 1);
  assert.equal(runRate.biasPercent, cases['run-rate']!.errorPercent, 'one case: the bias is its error');
  assert.equal(runRate.meanAbsErrorPercent, -cases['run-rate']!.errorPercent);
  assert.equal(runRate.intervalCases, 1);
  assert.equal(row(result.rows, 14, 'seasonal-naive').coveragePercent, 100, 'an exact forecast is inside its interval');
});

test('periods outside the history, and horizons before a period starts, are skipped and said', () => {
  const hourly = Array(30 * 24).fill(1);
  const result = backtest({
    hourly,
    start: MONDAY,
    periods: [FEBRUARY, { from: MONDAY, to: MONDAY + 10 * DAY, label: 'ten days' }],
    horizonsDays: [7, 14],
  });
  assert.deepEqual(result.skipped, ['2026-02: not inside the history on whole hours', 'ten days: 14 days before its end is before it starts']);
  assert.deepEqual([...new Set(result.cases.map((c) => `${c.period} ${c.horizonDays}`))], ['ten days 7']);
});

test('on a simulated fleet with daily and weekly cycles over 8 weeks, the chosen method errs at most half as much as the run-rate mid-period', (t) => {
  // Five fleets (seeds); for each, February 2026 and the 28-day periods ending on each of the last
  // seven days, so the forecasts are made on every day of the week.
  const rows: BacktestRow[][] = [];
  for (const seed of [11, 12, 13, 14, 15]) {
    const hourly = simulatedFleetCost(MONDAY, 56 * 24, seed);
    const periods = [FEBRUARY, ...slidingPeriods(MONDAY + 50 * DAY, MONDAY + 56 * DAY, 28)];
    rows.push(backtest({ hourly, start: MONDAY, periods }).rows);
  }
  const mean = (horizon: number, method: string, field: 'meanAbsErrorPercent' | 'biasPercent' | 'coveragePercent') =>
    rows.reduce((s, r) => s + (row(r, horizon, method)[field] ?? 0), 0) / rows.length;
  for (const horizon of [7, 14, 21]) {
    t.diagnostic(
      `${horizon} days before the end: ` +
        ['run-rate', 'seasonal-naive', 'chosen']
          .map((m) => `${m} error ${mean(horizon, m, 'meanAbsErrorPercent').toFixed(2)}% bias ${mean(horizon, m, 'biasPercent').toFixed(2)}% interval held ${mean(horizon, m, 'coveragePercent').toFixed(0)}%`)
          .join('; '),
    );
  }
  const chosen = mean(14, 'chosen', 'meanAbsErrorPercent');
  const runRate = mean(14, 'run-rate', 'meanAbsErrorPercent');
  assert.ok(chosen <= runRate / 2, `mid-period error: chosen ${chosen.toFixed(2)}% vs run-rate ${runRate.toFixed(2)}%`);
  // And on every fleet on its own, not just on average.
  for (const r of rows) assert.ok(row(r, 14, 'chosen').meanAbsErrorPercent <= row(r, 14, 'run-rate').meanAbsErrorPercent / 2);
  assert.ok(mean(14, 'chosen', 'coveragePercent') >= 50, 'the interval holds at least half the time');
});
