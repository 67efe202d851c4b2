// `meter forecast --backtest`: the forecasting methods replayed on the ledger's own history. The
// fleet's cost of every hour since it was first seen (each hour at its pools' average price, as
// forecasts see it) is backtested (backtest.ts) on every calendar month inside the history and on
// the `days`-long periods ending at each midnight, for each horizon: error, bias and how often the
// interval held, for the run-rate, seasonal-naive and the chosen method side by side.
import type { Ledger } from '../ledger/index.js';
import { backtest, slidingPeriods, DEFAULT_HORIZON_DAYS, type BacktestResult } from './backtest.js';
import { DAY_MS, HOUR_MS, hourStart, periodsCovering } from './dates.js';
import { periodUsage, unitPricer } from './period-pricing.js';
import { pricePeriod } from './pooled-tiers.js';
import { ledgerPriceBook } from './price-store.js';

export interface LedgerBacktestOptions {
  now: number;
  horizonsDays?: readonly number[];
  /** Length of the sliding periods; 0 for calendar months only. */
  slidingDays?: number;
}

export interface LedgerBacktest extends BacktestResult {
  /** The hourly history replayed: from its first hour, how many hours. */
  historyFrom: number;
  hours: number;
}

export async function ledgerBacktest(ledger: Ledger, options: LedgerBacktestOptions): Promise<LedgerBacktest> {
  const machines = await ledger.machines();
  const firstSeen = machines.reduce((min, m) => Math.min(min, m.firstSeen), Infinity);
  const end = hourStart(options.now);
  if (!Number.isFinite(firstSeen) || firstSeen >= end) return { rows: [], cases: [], skipped: ['no history in the ledger'], historyFrom: end, hours: 0 };
  const start = hourStart(firstSeen);
  const book = await ledgerPriceBook(ledger);
  const periods = [];
  for (const period of periodsCovering(start, end)) periods.push(pricePeriod(period, await periodUsage(ledger, period, book), book));
  const price = unitPricer(periods, book);
  const hourly = new Array<number>((end - start) / HOUR_MS).fill(0);
  for (const row of await ledger.hourlyUsage(start, end)) {
    hourly[(row.hour - start) / HOUR_MS]! += price({ at: row.hour, machine: row.machine, labels: row.labels, cpuBusyUs: row.cpuBusyUs, memByteMs: row.memByteMs });
  }
  const calendar = periodsCovering(start, end).filter((p) => p.from >= start && p.to <= end);
  const days = options.slidingDays ?? 28;
  const firstEnd = Math.ceil((start + days * DAY_MS) / DAY_MS) * DAY_MS;
  const sliding = days > 0 ? slidingPeriods(firstEnd, Math.floor(end / DAY_MS) * DAY_MS, days) : [];
  const result = backtest({ hourly, start, firstSeen, periods: [...calendar, ...sliding], horizonsDays: options.horizonsDays ?? DEFAULT_HORIZON_DAYS });
  return { ...result, historyFrom: start, hours: hourly.length };
}
