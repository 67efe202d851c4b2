// Forecast backtests: replay an hourly cost history and measure how each forecasting method would
// have done. For every period and horizon (days before the period's end), each method forecasts the
// period's total from the hours before that moment only; the case's error is forecast minus actual,
// in percent of the actual. Per horizon and method: the mean absolute error, the bias (the mean
// signed error: negative means it forecast too low), and how often the actual fell inside the
// method's interval.
import { DAY_MS, HOUR_MS } from './dates.js';
import { forecastRemaining, type ForecastMethod } from './forecast.js';
import type { ModelName } from './forecast-models.js';

export const DEFAULT_HORIZON_DAYS = [7, 14, 21] as const;
export const BACKTEST_METHODS: readonly ForecastMethod[] = ['run-rate', 'seasonal-naive', 'chosen'];

export interface BacktestInput {
  /** Cost of each whole hour from `start` (hour-aligned). */
  hourly: readonly number[];
  start: number;
  /** When history really begins (first sample). Default: start. */
  firstSeen?: number;
  /** The periods to replay; each must lie within the history to be tested. */
  periods: readonly { from: number; to: number; label?: string }[];
  horizonsDays?: readonly number[];
}

export interface BacktestCase {
  period: string;
  horizonDays: number;
  method: ForecastMethod;
  /** The model the method used there (the chosen method picks by history length). */
  model: ModelName;
  forecast: number;
  actual: number;
  errorPercent: number;
  lower: number | null;
  upper: number | null;
  /** Whether the actual fell in the interval; null without one. */
  covered: boolean | null;
}

export interface BacktestRow {
  horizonDays: number;
  method: ForecastMethod;
  cases: number;
  meanAbsErrorPercent: number;
  biasPercent: number;
  /** Percent of cases with an interval whose actual fell inside it; null when none had one. */
  coveragePercent: number | null;
  intervalCases: number;
}

export interface BacktestResult {
  rows: BacktestRow[];
  cases: BacktestCase[];
  /** Periods left out, with why (not inside the history, or a horizon reaching before the period). */
  skipped: string[];
}

const labelOf = (p: { from: number; label?: string }) => p.label ?? new Date(p.from).toISOString().slice(0, 10);

export function backtest(input: BacktestInput): BacktestResult {
  const { hourly, start } = input;
  const horizons = input.horizonsDays ?? DEFAULT_HORIZON_DAYS;
  const historyEnd = start + hourly.length * HOUR_MS;
  const hourIndex = (ms: number) => Math.round((ms - start) / HOUR_MS);
  const sum = (from: number, to: number) => {
    let total = 0;
    for (let i = hourIndex(from); i < hourIndex(to); i++) total += hourly[i]!;
    return total;
  };
  const cases: BacktestCase[] = [];
  const skipped: string[] = [];
  for (const period of input.periods) {
    const label = labelOf(period);
    if (period.from < start || period.to > historyEnd || (period.from - start) % HOUR_MS !== 0 || (period.to - start) % HOUR_MS !== 0) {
      skipped.push(`${label}: not inside the history on whole hours`);
      continue;
    }
    const actual = sum(period.from, period.to);
    for (const horizonDays of horizons) {
      const origin = period.to - horizonDays * DAY_MS;
      if (origin <= period.from) {
        skipped.push(`${label}: ${horizonDays} days before its end is before it starts`);
        continue;
      }
      const soFar = sum(period.from, origin);
      const past = hourly.slice(0, hourIndex(origin));
      for (const method of BACKTEST_METHODS) {
        const f = forecastRemaining({ hourly: past, start, now: origin, end: period.to, firstSeen: input.firstSeen }, method);
        const forecast = soFar + f.remaining;
        const lower = f.interval ? soFar + f.interval.lower : null;
        const upper = f.interval ? soFar + f.interval.upper : null;
        cases.push({
          period: label,
          horizonDays,
          method,
          model: f.model,
          forecast,
          actual,
          errorPercent: actual === 0 ? 0 : ((forecast - actual) / actual) * 100,
          lower,
          upper,
          covered: lower === null || upper === null ? null : actual >= lower && actual <= upper,
        });
      }
    }
  }
  const rows: BacktestRow[] = [];
  for (const horizonDays of horizons) {
    for (const method of BACKTEST_METHODS) {
      const mine = cases.filter((c) => c.horizonDays === horizonDays && c.method === method);
      if (mine.length === 0) continue;
      const withInterval = mine.filter((c) => c.covered !== null);
      rows.push({
        horizonDays,
        method,
        cases: mine.length,
        meanAbsErrorPercent: mine.reduce((s, c) => s + Math.abs(c.errorPercent), 0) / mine.length,
        biasPercent: mine.reduce((s, c) => s + c.errorPercent, 0) / mine.length,
        coveragePercent: withInterval.length === 0 ? null : (withInterval.filter((c) => c.covered).length / withInterval.length) * 100,
        intervalCases: withInterval.length,
      });
    }
  }
  return { rows, cases, skipped };
}

/** Periods of `days` days ending at each whole day from `firstEnd` to `lastEnd`: more cases than calendar months give. */
export function slidingPeriods(firstEnd: number, lastEnd: number, days: number): { from: number; to: number; label: string }[] {
  const periods = [];
  for (let to = firstEnd; to <= lastEnd; to += DAY_MS) {
    periods.push({ from: to - days * DAY_MS, to, label: `${days}d to ${new Date(to).toISOString().slice(0, 10)}` });
  }
  return periods;
}
