// Cost per hour now, coverage-aware, and each machine's period cost: what the console shows.
//
// A machine's cost per hour is its cost over the last hour or so (the previous whole hour and the
// current one so far, from the hourly rollups, at the pools' average prices) divided by the time its
// samples cover in it (coverage.ts): a machine that started two minutes ago has two minutes of cost
// over two minutes of coverage, its true rate, not 1/30 of it. A label's or the fleet's rate is the
// sum of its running machines' rates; machines silent for longer than staleAfterMs are not running.
import type { Ledger } from '../ledger/index.js';
import { HOUR_MS, hourStart, periodOf, periodsCovering } from './dates.js';
import { costRates, type CostRate, type MachineCost, type RateGrouping } from './coverage.js';
import { computeInvoice, priceBookFor, type Invoice } from './invoice.js';
import { formatMicros } from './money.js';
import { periodUsage, unitPricer } from './period-pricing.js';
import { pricePeriod } from './pooled-tiers.js';
import type { RateCard } from './rate-card.js';

/** A machine silent for this long no longer costs anything now. */
export const DEFAULT_STALE_AFTER_MS = 10 * 60_000;

export interface CostRateOptions {
  now: number;
  whatIf?: RateCard;
  staleAfterMs?: number;
}

/** Each machine's cost over the rate window and the time its samples cover there. */
export async function recentMachineCosts(ledger: Ledger, options: CostRateOptions): Promise<MachineCost[]> {
  const { now } = options;
  const book = await priceBookFor(ledger, options.whatIf);
  const from = hourStart(now) - HOUR_MS;
  const periods = [];
  for (const period of periodsCovering(from, now + 1)) periods.push(pricePeriod(period, await periodUsage(ledger, period, book), book));
  const price = unitPricer(periods, book);
  const lastSeen = new Map((await ledger.machines()).map((m) => [m.machine, m]));
  const costs = new Map<string, MachineCost & { cost: number }>();
  for (const row of await ledger.hourlyUsage(from, hourStart(now) + HOUR_MS)) {
    let m = costs.get(row.machine);
    if (!m) costs.set(row.machine, (m = { machine: row.machine, labels: lastSeen.get(row.machine)?.labels ?? row.labels, costMicros: 0n, coveredMs: 0, lastSeen: lastSeen.get(row.machine)?.lastSeen, cost: 0 }));
    m.cost += price({ at: row.hour, machine: row.machine, labels: row.labels, cpuBusyUs: row.cpuBusyUs, memByteMs: row.memByteMs });
    // Covered time up to now: a window that ends in the future still covers only until now.
    m.coveredMs += row.coveredMs;
  }
  return [...costs.values()].map(({ cost, ...m }) => ({ ...m, costMicros: BigInt(Math.round(cost)), costUnrounded: cost }));
}

/** Cost per hour now, per machine, label value or the whole fleet. */
export async function costPerHour(ledger: Ledger, by: RateGrouping, options: CostRateOptions): Promise<CostRate[]> {
  return costRates(await recentMachineCosts(ledger, options), by, { now: options.now, staleAfterMs: options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS });
}

export interface MachineSummary {
  machine: string;
  labels: Record<string, string>;
  /** End of its latest sample window, epoch ms. */
  lastSeen: number;
  firstSeen: number;
  /** Cost so far in the current billing period, decimal string. */
  periodCost: string;
  /** Cost per hour now, over the time it reported (0 when it stopped), decimal string. */
  costPerHour: string;
  /** How much time that rate rests on, ms. */
  rateCoveredMs: number;
  currency: string;
}

/** Per machine: labels, when last seen, its cost so far this period (from `invoice` by machine when given) and its cost per hour now. */
export async function machineSummaries(ledger: Ledger, options: CostRateOptions & { invoice?: Invoice }): Promise<MachineSummary[]> {
  const period = periodOf(options.now);
  const invoice = options.invoice ?? (await computeInvoice(ledger, { from: period.from, to: period.to, by: 'machine', now: options.now, whatIf: options.whatIf, forecast: false }));
  const periodCost = new Map(invoice.lines.map((l) => [l.key, l.total]));
  const rates = new Map((await costPerHour(ledger, 'machine', options)).map((r) => [r.key, r]));
  return (await ledger.machines()).map((m) => ({
    machine: m.machine,
    labels: m.labels,
    lastSeen: m.lastSeen,
    firstSeen: m.firstSeen,
    periodCost: periodCost.get(m.machine) ?? '0.000000',
    costPerHour: formatMicros(rates.get(m.machine)?.perHourMicros ?? 0n),
    rateCoveredMs: rates.get(m.machine)?.minCoveredMs ?? 0,
    currency: invoice.currency,
  }));
}
