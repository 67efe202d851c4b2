// Forecasting models on an hourly series (cost, or usage), each able to forecast from any past
// origin using only the hours before it, so the same model both forecasts and measures its own past
// errors (for intervals and backtests).
//
//   run-rate        every future hour costs the mean of the last 24 hours (what meter did before)
//   seasonal-naive  every future hour costs the same hour one season earlier (a week, or a day)
//   holt-winters    additive Holt-Winters with a damped trend (Gardner & McKenzie): a level, a trend
//                   that fades (phi 0.98 per hour), and a seasonal profile over a week (or a day),
//                   each updated hour by hour; smoothing weights chosen from a small fixed grid
//                   (deterministic) by the least squared error of its next-season totals (the
//                   week's, or the day's) over the history: the horizon a period forecast needs
//
// Written here rather than taken from npm: the packages found either run SARIMA in WebAssembly
// (too slow with a 168-hour season) or give no way to forecast from past origins.

export type ModelName = 'run-rate' | 'seasonal-naive' | 'holt-winters';

export const DAY_HOURS = 24;
export const WEEK_HOURS = 168;

export interface ForecastModel {
  name: ModelName;
  /** The seasonal period in hours (24 or 168); 0 for the run-rate. */
  season: number;
  /** The first origin the model can forecast from (it needs that many hours before it). */
  minOrigin: number;
  /** The forecast of hour `origin + ahead` (ahead >= 0) from the hours before `origin`, never negative. */
  predict(origin: number, ahead: number): number;
}

/** Sum of the forecasts of `hours` hours from `origin`. */
export function predictSum(model: ForecastModel, origin: number, hours: number): number {
  let sum = 0;
  for (let k = 0; k < hours; k++) sum += model.predict(origin, k);
  return sum;
}

/** Mean of the last `window` hours before the origin (fewer when the history is shorter). */
export function runRateModel(values: readonly number[], window = DAY_HOURS): ForecastModel {
  const prefix = [0];
  for (const v of values) prefix.push(prefix.at(-1)! + v);
  return {
    name: 'run-rate',
    season: 0,
    minOrigin: 1,
    predict(origin) {
      const from = Math.max(0, origin - window);
      return Math.max(0, (prefix[origin]! - prefix[from]!) / (origin - from));
    },
  };
}

/** The same hour one season (`season` hours) before, repeated. */
export function seasonalNaiveModel(values: readonly number[], season: number): ForecastModel {
  return {
    name: 'seasonal-naive',
    season,
    minOrigin: season,
    predict(origin, ahead) {
      return Math.max(0, values[origin - season + (ahead % season)]!);
    },
  };
}

export interface HoltWintersParams {
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
}

// The grid the weights are chosen from. Slow levels (small alpha) are in it on purpose: a month's
// forecast rests on the level, and hour-to-hour noise (a training burst) must not move it much.
const ALPHAS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2];
const BETAS = [0, 0.001, 0.005, 0.02];
const GAMMAS = [0.05, 0.1, 0.2, 0.35];
const PHIS = [0.98, 0.995, 0.999];

interface HoltWintersState {
  /** level[t], trend[t]: the state after hours 0..t-1, i.e. at origin t (t >= season). */
  level: Float64Array;
  trend: Float64Array;
  /** seasonal[t]: the seasonal term of hour t, set once hour t is seen (the first season: initial). */
  seasonal: Float64Array;
}

/**
 * Runs the recursions over `values`. The initial level is the mean of the first two seasons (one
 * when that is all there is) and the initial profile their average shape, so one odd week does not
 * linger in the profile.
 */
function runHoltWinters(values: readonly number[], season: number, p: HoltWintersParams): HoltWintersState {
  const n = values.length;
  const level = new Float64Array(n + 1);
  const trend = new Float64Array(n + 1);
  const seasonal = new Float64Array(n);
  const seasons = n >= 2 * season ? 2 : 1;
  let mean = 0;
  for (let i = 0; i < seasons * season; i++) mean += values[i]!;
  mean /= seasons * season;
  for (let i = 0; i < season; i++) {
    let sum = 0;
    for (let j = 0; j < seasons; j++) sum += values[i + j * season]!;
    seasonal[i] = sum / seasons - mean;
  }
  let l = mean;
  let b = 0;
  level[season] = l;
  trend[season] = b;
  for (let t = season; t < n; t++) {
    const y = values[t]!;
    const s = seasonal[t - season]!;
    const previous = l;
    l = p.alpha * (y - s) + (1 - p.alpha) * (previous + p.phi * b);
    b = p.beta * (l - previous) + (1 - p.beta) * p.phi * b;
    seasonal[t] = p.gamma * (y - l) + (1 - p.gamma) * s;
    level[t + 1] = l;
    trend[t + 1] = b;
  }
  return { level, trend, seasonal };
}

/** phi + phi^2 + ... + phi^(ahead+1): how much of the trend `ahead` hours out (damped). */
const damping = (phi: number, ahead: number): number => (phi * (1 - phi ** (ahead + 1))) / (1 - phi);

/**
 * Squared errors of the model's forecast of the next season's total (a week, or a day) from every
 * origin in the history: the horizon a period forecast lives on, rather than the next hour.
 */
function seasonAheadError(values: readonly number[], season: number, p: HoltWintersParams, state: HoltWintersState): number {
  const n = values.length;
  const actual = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) actual[i + 1] = actual[i]! + values[i]!;
  const seasonalSum = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) seasonalSum[i + 1] = seasonalSum[i]! + state.seasonal[i]!;
  let trendWeight = 0;
  for (let k = 0; k < season; k++) trendWeight += damping(p.phi, k);
  let sse = 0;
  for (let origin = season; origin + season <= n; origin++) {
    const forecast =
      season * state.level[origin]! + trendWeight * state.trend[origin]! + (seasonalSum[origin]! - seasonalSum[origin - season]!);
    const error = actual[origin + season]! - actual[origin]! - forecast;
    sse += error * error;
  }
  return sse;
}

/** The grid point with the least season-ahead squared error over `values` (ties: the first). */
export function fitHoltWinters(values: readonly number[], season: number): HoltWintersParams {
  let best: { params: HoltWintersParams; sse: number } | undefined;
  for (const alpha of ALPHAS) {
    for (const beta of BETAS) {
      for (const gamma of GAMMAS) {
        for (const phi of PHIS) {
          const params = { alpha, beta, gamma, phi };
          const sse = seasonAheadError(values, season, params, runHoltWinters(values, season, params));
          if (!best || sse < best.sse) best = { params, sse };
        }
      }
    }
  }
  return best!.params;
}

/** Holt-Winters over `values` (at least one season of them), fitted unless `params` are given. */
export function holtWintersModel(values: readonly number[], season: number, params?: HoltWintersParams): ForecastModel {
  if (values.length < season) throw new RangeError(`Holt-Winters with a ${season}-hour season needs at least ${season} hours`);
  const p = params ?? fitHoltWinters(values, season);
  const { level, trend, seasonal } = runHoltWinters(values, season, p);
  return {
    name: 'holt-winters',
    season,
    minOrigin: season,
    predict(origin, ahead) {
      const s = seasonal[origin - season + (ahead % season)]!;
      return Math.max(0, level[origin]! + damping(p.phi, ahead) * trend[origin]! + s);
    },
  };
}
