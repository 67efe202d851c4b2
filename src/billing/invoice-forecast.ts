// Forecasts of an open invoice range, per line and in total, with an interval (forecast.ts's method).
//
// 1. History: the last 35 days of hourly usage (before the period too: ten minutes into a month, a
//    forecast rests on the weeks before, not on those ten minutes), each hour at its pools' average
//    price, as one hourly cost series per line and one for the whole range. A line's history starts
//    when its first machine was first seen.
// 2. forecastRemaining() forecasts each series to the range's end (in the current period): the
//    chosen seasonal method, or the run-rate flagged as a fallback on short history.
// 3. Tiers: a line's forecast cost is turned back into usage (each of its machines' usage over the
//    last 24 hours, scaled by the line's forecast over its cost in those hours), priced with the
//    actual usage through the period's tiers, and allocated, so a graduated tier's cheaper units
//    lower the forecast as they would the bill. The intervals scale with it.
import type { Ledger } from '../ledger/index.js';
import { DAY_MS, HOUR_MS, hourStart, periodOf, periodsCovering } from './dates.js';
import { forecastRemaining, type Forecast } from './forecast.js';
import type { ModelName } from './forecast-models.js';
import { formatMicros } from './money.js';
import { periodUsage, unitPricer } from './period-pricing.js';
import type { PriceBook } from './price-versions.js';
import { pricePeriod, type PricedPeriod, type UsageItem } from './pooled-tiers.js';
import { allocateRange, lineKey, type AllocatedRange, type LineGrouping } from './range-allocation.js';

/** How much history a forecast looks at: five weeks, enough for the weekly season (two weeks) and its errors. */
export const FORECAST_HISTORY_MS = 35 * DAY_MS;

/** A forecast as invoices, budgets and the console show it. */
export interface InvoiceForecast {
  /** The forecast total for the range. */
  total: string;
  /** The interval around it (nominal `level`%), or null when history is too short to measure errors. */
  lower: string | null;
  upper: string | null;
  level: number | null;
  model: ModelName;
  season: number;
  historyHours: number;
  shortHistory: boolean;
  fallback: boolean;
  note: string;
}

export interface ForecastRequest {
  from: number;
  to: number;
  now: number;
  by: LineGrouping;
  book: PriceBook;
  /** The priced periods of the range, and its actual allocation. */
  priced: readonly PricedPeriod[];
  actual: AllocatedRange;
}

const toMicros = (x: number): bigint => BigInt(Math.round(Math.max(0, x)));

function describe(f: Forecast, actual: bigint, remaining: bigint): InvoiceForecast {
  // The interval of the cost forecast, scaled to the tier-aware remainder.
  const scale = f.remaining > 0 ? Number(remaining) / f.remaining : 0;
  const bound = (x: number) => formatMicros(actual + toMicros(x * scale));
  return {
    total: formatMicros(actual + remaining),
    lower: f.interval ? bound(f.interval.lower) : null,
    upper: f.interval ? bound(f.interval.upper) : null,
    level: f.interval?.level ?? null,
    model: f.model,
    season: f.season,
    historyHours: Math.round(f.historyHours * 100) / 100,
    shortHistory: f.shortHistory,
    fallback: f.fallback,
    note: f.note,
  };
}

export async function forecastLines(
  ledger: Pick<Ledger, 'usage' | 'hourlyUsage' | 'machines'>,
  request: ForecastRequest,
): Promise<{ lines: Map<string, InvoiceForecast>; total: InvoiceForecast }> {
  const { from, now, by, book, priced, actual } = request;
  const current = periodOf(now);
  const end = Math.min(request.to, current.to);
  const historyFrom = hourStart(now) - FORECAST_HISTORY_MS;
  const nowHour = hourStart(now);
  const hours = (nowHour - historyFrom) / HOUR_MS + 1;
  // Periods of the history the range did not price: priced now, on their own usage.
  const seen = new Set(priced.map((p) => p.period.from));
  const earlier: PricedPeriod[] = [];
  for (const period of periodsCovering(historyFrom, now + 1)) {
    if (!seen.has(period.from)) earlier.push(pricePeriod(period, await periodUsage(ledger, period, book), book));
  }
  const price = unitPricer([...priced, ...earlier], book);
  const firstSeen = new Map((await ledger.machines()).map((m) => [m.machine, m.firstSeen]));
  const series = new Map<string, { hourly: Float64Array; firstSeen: number; recent: Map<string, { item: UsageItem; cost: number }>; recentCost: number }>();
  const total = { hourly: new Float64Array(hours), firstSeen: Infinity };
  for (const row of await ledger.hourlyUsage(historyFrom, nowHour + HOUR_MS)) {
    const item: UsageItem = { at: row.hour, machine: row.machine, labels: row.labels, cpuBusyUs: row.cpuBusyUs, memByteMs: row.memByteMs };
    const key = lineKey(item, by);
    let s = series.get(key);
    if (!s) series.set(key, (s = { hourly: new Float64Array(hours), firstSeen: Infinity, recent: new Map(), recentCost: 0 }));
    const cost = price(item);
    const i = (row.hour - historyFrom) / HOUR_MS;
    s.hourly[i] = s.hourly[i]! + cost;
    total.hourly[i] = total.hourly[i]! + cost;
    const seenAt = Math.max(historyFrom, firstSeen.get(row.machine) ?? row.hour);
    s.firstSeen = Math.min(s.firstSeen, seenAt);
    total.firstSeen = Math.min(total.firstSeen, seenAt);
    if (row.hour >= nowHour - DAY_MS) {
      const rowKey = `${row.machine}\u0000${JSON.stringify(row.labels)}`;
      const r = s.recent.get(rowKey);
      if (r) {
        r.item.cpuBusyUs += row.cpuBusyUs;
        r.item.memByteMs += row.memByteMs;
        r.cost += cost;
      } else {
        s.recent.set(rowKey, { item: { ...item, at: Math.max(nowHour, from) }, cost });
      }
      s.recentCost += cost;
    }
  }
  // Each line's forecast cost, as usage at its machines' recent mix, added to the current period.
  const forecasts = new Map<string, Forecast>();
  const synthetic: UsageItem[] = [];
  for (const [key, s] of series) {
    const f = forecastRemaining({ hourly: s.hourly, start: historyFrom, now, end, firstSeen: s.firstSeen });
    forecasts.set(key, f);
    if (!(f.remaining > 0 && s.recentCost > 0)) continue;
    const scale = f.remaining / s.recentCost;
    for (const { item } of s.recent.values()) {
      synthetic.push({ ...item, cpuBusyUs: BigInt(Math.round(Number(item.cpuBusyUs) * scale)), memByteMs: BigInt(Math.round(Number(item.memByteMs) * scale)) });
    }
  }
  const withForecast = priced.map((p) =>
    p.period.from === current.from ? pricePeriod(p.period, [...p.items.map((i) => i.item), ...synthetic], book) : p,
  );
  const projected = allocateRange(withForecast, { from: request.from, to: request.to }, by);
  const actualOf = new Map(actual.lines.map((l) => [l.key, l.totalMicros]));
  const lines = new Map<string, InvoiceForecast>();
  for (const l of projected.lines) {
    const a = actualOf.get(l.key) ?? 0n;
    const f = forecasts.get(l.key);
    const remaining = l.totalMicros - a;
    lines.set(l.key, f ? describe(f, a, remaining) : { ...describe(forecastRemaining({ hourly: [], start: historyFrom, now, end }), a, 0n), total: formatMicros(l.totalMicros) });
  }
  const totalForecast = forecastRemaining({ hourly: total.hourly, start: historyFrom, now, end, firstSeen: Number.isFinite(total.firstSeen) ? total.firstSeen : undefined });
  return { lines, total: describe(totalForecast, actual.totalMicros, projected.totalMicros - actual.totalMicros) };
}
