import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecastRemaining } from '../../../src/billing/forecast.js';
import { holtWintersModel, predictSum, runRateModel, seasonalNaiveModel } from '../../../src/billing/forecast-models.js';
import { seededRandom } from '../../../src/agent/fleet-simulator.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const MONDAY = Date.UTC(2026, 0, 5);
/** 2 per hour on weekdays, 1 at weekends, from a Monday: a pure weekly cycle. */
const weekly = (hours: number) => Array.from({ length: hours }, (_, h) => (new Date(MONDAY + h * HOUR).getUTCDay() % 6 === 0 ? 1 : 2));

test('the models forecast from any past origin using only the hours before it', () => {
  const values = weekly(3 * 168);
  const naive = seasonalNaiveModel(values, 168);
  assert.equal(naive.predict(168 + 5 * 24, 0), 1, 'Saturday 00:00 of week 2: last Saturday');
  assert.equal(predictSum(naive, 336, 168), 288, 'a week: 5 x 24 x 2 + 2 x 24 x 1');
  const rate = runRateModel(values);
  assert.equal(rate.predict(168 + 6 * 24, 0), 1, 'after a Saturday, the run-rate is the weekend rate');
  assert.equal(rate.predict(10, 3), 2, 'fewer than 24 hours: the mean of what there is');
  // Holt-Winters on a pure cycle learns it exactly and keeps it.
  const hw = holtWintersModel(values, 168);
  for (const origin of [168, 200, 400]) {
    for (const ahead of [0, 30, 200]) assert.ok(Math.abs(hw.predict(origin, ahead) - values[(origin + ahead) % 168]!) < 1e-9);
  }
  // Changing the future does not change a forecast from the past.
  const changed = [...values.slice(0, 300), ...values.slice(300).map((v) => v * 10)];
  assert.equal(seasonalNaiveModel(changed, 168).predict(300, 5), naive.predict(300, 5));
  assert.throws(() => holtWintersModel(values.slice(0, 100), 168), /at least 168 hours/);
});

test('the chosen method by history: weekly Holt-Winters from two weeks, daily from two days, else the run-rate, flagged', () => {
  const end = MONDAY + 60 * DAY;
  const cases: [number, string, number, boolean, boolean][] = [
    [21 * 24, 'holt-winters', 168, false, false],
    [5 * 24, 'holt-winters', 24, false, false],
    [36, 'run-rate', 0, true, false],
    [10, 'run-rate', 0, true, true],
  ];
  for (const [hours, model, season, fallback, shortHistory] of cases) {
    const f = forecastRemaining({ hourly: weekly(hours), start: MONDAY, now: MONDAY + hours * HOUR, end });
    assert.deepEqual([f.model, f.season, f.fallback, f.shortHistory], [model, season, fallback, shortHistory], `${hours} h`);
    assert.equal(f.historyHours, hours);
  }
  const rateOnly = forecastRemaining({ hourly: weekly(21 * 24), start: MONDAY, now: MONDAY + 21 * DAY, end }, 'run-rate');
  assert.deepEqual([rateOnly.model, rateOnly.fallback], ['run-rate', false], 'asked for, the run-rate is no fallback');
});

test('a fleet that appeared an hour ago is forecast from that hour, flagged as short history', () => {
  // Started at 13:20, now 14:20: 40 minutes of the 13:00 hour and 20 of the current one, 6 per hour.
  const start = Date.UTC(2026, 10, 20, 13);
  const firstSeen = start + 20 * 60_000;
  const now = start + HOUR + 20 * 60_000;
  const end = Date.UTC(2026, 11, 1);
  const f = forecastRemaining({ hourly: [4, 2], start, now, end, firstSeen });
  const expected = (6 * (end - now)) / HOUR;
  assert.ok(Math.abs(f.remaining - expected) / expected < 1e-9, `${f.remaining} vs ${expected}`);
  assert.equal(f.historyHours, 1);
  assert.equal(f.shortHistory, true);
  assert.equal(f.fallback, true);
  assert.equal(f.interval, null);
  assert.match(f.note, /^run-rate \(fallback: too little history for the seasonal method\), only 1\.0 h of history, less than a day: a guess, no interval/);
  // The same hour seen as the last 24 hours with 23 empty ones, as before, is 24 times too low.
  const old = forecastRemaining({ hourly: [...Array(23).fill(0), 4, 2], start: start - 23 * HOUR, now, end });
  assert.ok(old.remaining < expected / 20);
  // Ten minutes in: still a rate, from ten minutes.
  const early = forecastRemaining({ hourly: [1], start, now: start + 10 * 60_000, end, firstSeen: start });
  assert.ok(Math.abs(early.remaining - (6 * (end - start - 10 * 60_000)) / HOUR) < 1e-6);
  assert.match(early.note, /only 0\.2 h of history/);
  const none = forecastRemaining({ hourly: [], start, now: start, end });
  assert.deepEqual([none.remaining, none.note], [0, 'no history: nothing to forecast from']);
});

test('the current hour is forecast for the part still to come, and a period end between hours for its part', () => {
  const hourly = Array(30 * 24).fill(3);
  const start = MONDAY;
  const now = start + 30 * DAY + 30 * 60_000; // half past the hour, which is not in `hourly`
  for (const method of ['chosen', 'run-rate', 'seasonal-naive'] as const) {
    const f = forecastRemaining({ hourly, start, now, end: now + 90 * 60_000 }, method);
    assert.ok(Math.abs(f.remaining - 4.5) < 1e-9, `${method}: ${f.remaining}`);
  }
  const ended = forecastRemaining({ hourly, start, now: start + 31 * DAY, end: start + 31 * DAY });
  assert.equal(ended.remaining, 0);
});

test('the interval comes from the model\'s own past errors and holds the truth on a noisy cycle', () => {
  const random = seededRandom(7);
  const noisy = weekly(6 * 168).map((v) => v * (1 + (random() - 0.5) * 0.3));
  const n = 4 * 168;
  const f = forecastRemaining({ hourly: noisy.slice(0, n), start: MONDAY, now: MONDAY + n * HOUR, end: MONDAY + (n + 168) * HOUR });
  assert.ok(f.interval, 'four weeks are enough to measure the error of a week');
  assert.equal(f.interval!.fromHorizonHours, 168);
  assert.equal(f.interval!.level, 80);
  assert.ok(f.interval!.lower < f.remaining && f.remaining < f.interval!.upper);
  const actual = noisy.slice(n, n + 168).reduce((a, b) => a + b);
  assert.ok(f.interval!.lower <= actual && actual <= f.interval!.upper, `${actual} in [${f.interval!.lower}, ${f.interval!.upper}]`);
  assert.match(f.note, /^Holt-Winters, weekly season on 28\.0 days of history$/);
});
