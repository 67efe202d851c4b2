// Forecasts of a period's cost, with an interval, from the hourly cost so far.
//
// The method (what `meter budgets`, the console and open invoices show):
// - Two weeks of history or more: Holt-Winters with a weekly season (it learns both the daily and the
//   weekly cycle); two days or more: Holt-Winters with a daily season; less: the run-rate (the mean
//   hourly cost so far, over at most the last 24 hours), flagged as a fallback.
// - Less than a day of history is always flagged (shortHistory) and said in the note: a month
//   extrapolated from a few hours is a guess, and the reader must know it.
// - History starts when the fleet (or machine, or label) was first seen: hours before it are not
//   zero-cost history, and the first, partial hour counts for the time it was covered. So a fleet
//   that appeared an hour ago is forecast from that hour.
// - The interval is empirical: the model forecasts the same number of hours from every past origin
//   it can, and the 80th percentile of its relative errors there, in size, is the interval's
//   half-width around the point forecast (a nominal 80% interval; symmetric, because a few weeks of
//   strongly correlated errors say little about their skew). With too little history to do that,
//   there is no interval, and the note says so. Backtests (src/billing/backtest.ts) show how often
//   the interval held.
// Values are in any unit (micro-units of cost as numbers, usually); the result is in the same unit.
import { HOUR_MS, hourStart } from './dates.js';
import {
  DAY_HOURS,
  WEEK_HOURS,
  holtWintersModel,
  predictSum,
  runRateModel,
  seasonalNaiveModel,
  type ForecastModel,
  type ModelName,
} from './forecast-models.js';

export type ForecastMethod = 'chosen' | 'run-rate' | 'seasonal-naive';

export interface ForecastInput {
  /** Cost of each hour from `start` (hour-aligned); the last may be the current hour, so far. */
  /** (Any array of numbers: the invoice's forecasts pass their Float64Arrays, since copying 10,000 of them was a third of a fleet's invoice.) */
  hourly: ArrayLike<number>;
  start: number;
  /** Forecast from here: the cost after `now` up to `end` (the period end) is forecast. */
  now: number;
  end: number;
  /** When history really begins (first sample); hours before it are not history. Default: start. */
  firstSeen?: number;
}

export interface ForecastInterval {
  lower: number;
  upper: number;
  /** Nominal coverage, percent. */
  level: number;
  /** The horizon, in hours, whose past errors set it (shorter than the forecast's when history is short). */
  fromHorizonHours: number;
}

export interface Forecast {
  model: ModelName;
  /** Season of the model in hours (168 weekly, 24 daily; 0 for the run-rate). */
  season: number;
  /** The forecast cost from `now` to `end`. */
  remaining: number;
  interval: ForecastInterval | null;
  /** Hours of history the forecast rests on (covered time, fractional). */
  historyHours: number;
  /** Less than a day of history. */
  shortHistory: boolean;
  /** The run-rate stood in for the seasonal method because history was too short. */
  fallback: boolean;
  /** One line for people: which method, on how much history, and any warning. */
  note: string;
}

export const INTERVAL_LEVEL = 80;
const MIN_ERROR_ORIGINS = 24;

/** The q-quantile (0..1) of sorted values, linearly interpolated. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * The interval of a forecast of `hours` hours from origin `n` (the end of `values`): the model's
 * relative errors on the same horizon from past origins, or a shorter one when history is short.
 */
export function empiricalInterval(model: ForecastModel, values: readonly number[], hours: number, point: number): ForecastInterval | null {
  const n = values.length;
  const horizon = Math.min(hours, n - model.minOrigin - MIN_ERROR_ORIGINS + 1);
  if (horizon < 1) return null;
  const prefix = [0];
  for (const v of values) prefix.push(prefix.at(-1)! + v);
  const errors: number[] = [];
  for (let origin = model.minOrigin; origin + horizon <= n; origin++) {
    const predicted = predictSum(model, origin, horizon);
    if (predicted <= 0) continue;
    errors.push((prefix[origin + horizon]! - prefix[origin]! - predicted) / predicted);
  }
  if (errors.length < MIN_ERROR_ORIGINS) return null;
  const width = quantile(errors.map(Math.abs).sort((a, b) => a - b), INTERVAL_LEVEL / 100);
  return {
    lower: Math.max(0, point * (1 - width)),
    upper: Math.max(0, point * (1 + width)),
    level: INTERVAL_LEVEL,
    fromHorizonHours: horizon,
  };
}

/**
 * Whole hours of history, the first scaled to a full hour from the part of it that was covered; and
 * the raw cost and covered time of everything, the current hour so far included.
 */
function history(input: ForecastInput): { values: number[]; cost: number; coveredHours: number } {
  const firstSeen = Math.max(input.firstSeen ?? input.start, input.start);
  const currentHour = hourStart(input.now);
  const values: number[] = [];
  let coveredMs = 0;
  let cost = 0;
  const { hourly } = input;
  for (let i = 0; i < hourly.length; i++) {
    const hourCost = hourly[i]!;
    const from = input.start + i * HOUR_MS;
    const covered = Math.min(from + HOUR_MS, input.now) - Math.max(from, firstSeen);
    if (covered <= 0) continue;
    coveredMs += covered;
    cost += hourCost;
    if (from < currentHour) values.push(covered < HOUR_MS ? hourCost * (HOUR_MS / covered) : hourCost);
  }
  return { values, cost, coveredHours: coveredMs / HOUR_MS };
}

function pickModel(values: readonly number[], method: ForecastMethod): ForecastModel {
  const n = values.length;
  if (method === 'run-rate') return runRateModel(values);
  if (method === 'seasonal-naive') {
    if (n >= WEEK_HOURS) return seasonalNaiveModel(values, WEEK_HOURS);
    if (n >= DAY_HOURS) return seasonalNaiveModel(values, DAY_HOURS);
    return runRateModel(values);
  }
  if (n >= 2 * WEEK_HOURS) return holtWintersModel(values, WEEK_HOURS);
  if (n >= 2 * DAY_HOURS) return holtWintersModel(values, DAY_HOURS);
  return runRateModel(values);
}

const hoursText = (h: number): string => (h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} days`);

/** The forecast cost from `now` to `end`, by `method` ('chosen' unless a baseline is asked for). */
export function forecastRemaining(input: ForecastInput, method: ForecastMethod = 'chosen'): Forecast {
  const { values, cost, coveredHours } = history(input);
  const currentHour = hourStart(input.now);
  const hoursLeft = Math.max(0, Math.ceil((input.end - currentHour) / HOUR_MS));
  const rest = (input.end - input.now) / HOUR_MS;
  const shortHistory = coveredHours < DAY_HOURS;
  const base = { historyHours: coveredHours, shortHistory };
  if (rest <= 0) {
    return { model: 'run-rate', season: 0, remaining: 0, interval: null, ...base, fallback: false, note: 'the period has ended: nothing to forecast' };
  }
  const model = pickModel(values, method);
  let remaining: number;
  if (model.name === 'run-rate' && shortHistory) {
    // Less than a day: the cost over all the time covered, the current hour so far included.
    remaining = coveredHours > 0 ? (cost / coveredHours) * rest : 0;
  } else {
    // The current hour's forecast for the part still to come, then every later hour (the last one
    // in part when the period does not end on an hour).
    const origin = values.length;
    const firstPart = Math.min(rest, (currentHour + HOUR_MS - input.now) / HOUR_MS);
    remaining = model.predict(origin, 0) * firstPart;
    for (let k = 1; k < hoursLeft; k++) remaining += model.predict(origin, k) * Math.min(1, (input.end - currentHour) / HOUR_MS - k);
  }
  const interval = values.length > 0 ? empiricalInterval(model, values, hoursLeft, remaining) : null;
  const fallback = method === 'chosen' && model.name === 'run-rate';
  if (coveredHours === 0) {
    return { model: model.name, season: 0, remaining: 0, interval: null, ...base, fallback, note: 'no history: nothing to forecast from' };
  }
  const what =
    model.name === 'holt-winters'
      ? `Holt-Winters, ${model.season === WEEK_HOURS ? 'weekly' : 'daily'} season`
      : model.name === 'seasonal-naive'
        ? `seasonal-naive, ${model.season === WEEK_HOURS ? 'weekly' : 'daily'}`
        : fallback
          ? 'run-rate (fallback: too little history for the seasonal method)'
          : 'run-rate';
  const warning = shortHistory ? `, only ${hoursText(coveredHours)} of history, less than a day: a guess` : ` on ${hoursText(coveredHours)} of history`;
  const intervalNote = interval ? '' : ', no interval (too little history to measure its error)';
  return { model: model.name, season: model.season, remaining, interval, ...base, fallback, note: `${what}${warning}${intervalNote}` };
}
