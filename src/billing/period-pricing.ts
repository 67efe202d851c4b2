// From the ledger's usage to priced billing periods: each period's usage is read span by span (the
// period cut at each price version's first priced hour and at the invoiced range's ends), so the
// ledger answers from its month and hour rollups, and priced with pooled tiers (pooled-tiers.ts).
// Also each usage row's price at its pool's average: what hourly costs (forecasts, cost per hour)
// are computed with.
import { OWN_USAGE, type Ledger, type UsageFilter } from '../ledger/index.js';
import { hourStart, periodsCovering, type BillingPeriod } from './dates.js';
import { MICROS } from './money.js';
import type { PriceBook, PriceVersion } from './price-versions.js';
import { pricePeriod, pricingSpans, type PricedPeriod, type UsageItem } from './pooled-tiers.js';
import { accountOf, planFor } from './rate-card.js';

/** The usage items of `period` (one per span, machine and label set) that `filter` keeps. */
export async function periodUsage(
  ledger: Pick<Ledger, 'usage'>,
  period: Pick<BillingPeriod, 'from' | 'to'>,
  book: PriceBook,
  cuts: readonly number[] = [],
  filter: UsageFilter = OWN_USAGE,
): Promise<UsageItem[]> {
  const items: UsageItem[] = [];
  for (const span of pricingSpans(period, book, cuts)) {
    for (const row of await ledger.usage(span.from, span.to, filter)) {
      items.push({ at: span.from, machine: row.machine, labels: row.labels, cpuBusyUs: row.cpuBusyUs, memByteMs: row.memByteMs });
    }
  }
  return items;
}

/** Every billing period [from, to) touches, priced on its own usage (the whole period, for the tiers). */
export async function pricePeriods(ledger: Pick<Ledger, 'usage'>, from: number, to: number, book: PriceBook): Promise<PricedPeriod[]> {
  const priced: PricedPeriod[] = [];
  for (const period of periodsCovering(from, to)) priced.push(pricePeriod(period, await periodUsage(ledger, period, book, [from, to]), book));
  return priced;
}

/** Micro-units per unit of CPU and memory usage, at a pool's average price under one version. */
interface UnitPrices {
  cpu: number;
  memory: number;
}

/**
 * Prices usage of any hour of the priced periods at its pools' average prices, in micro-units (a
 * float: for forecasts and rates, never for billing). Usage in a pool the periods have not seen
 * (a machine new since) is priced at the version's first tier.
 */
export function unitPricer(periods: readonly PricedPeriod[], book: PriceBook): (item: UsageItem) => number {
  const prices = new Map<string, UnitPrices>();
  const key = (period: number, version: PriceVersion, account: string, plan: string) => `${period}\u0000${version.digest}\u0000${account}\u0000${plan}`;
  for (const priced of periods) {
    for (const p of priced.items) {
      const k = key(priced.period.from, p.version, p.cpu.pool.account, p.cpu.pool.plan);
      if (prices.has(k)) continue;
      const per = (part: PricedPeriod['items'][number]['cpu']) =>
        part.units > 0n && part.pool.denominator > 0n ? Number((part.weight * MICROS * 1_000_000n) / part.pool.denominator) / 1e6 / Number(part.units) : 0;
      prices.set(k, { cpu: per(p.cpu), memory: per(p.memory) });
    }
  }
  const periodOf = (at: number) => periods.find((p) => at >= p.period.from && at < p.period.to)?.period.from ?? -1;
  return (item) => {
    const version = book.versionAt(item.at);
    if (!version) return 0;
    const plan = planFor(version.card, item.machine, item.labels);
    const unit = prices.get(key(periodOf(hourStart(item.at)), version, accountOf(version.card, item.labels), plan?.name ?? '')) ?? firstTier(version, plan);
    return Number(item.cpuBusyUs) * unit.cpu + Number(item.memByteMs) * unit.memory;
  };
}

function firstTier(version: PriceVersion, plan: ReturnType<typeof planFor>): UnitPrices {
  // price x 10^-12 per hour; micro-units per unit = price / 10^12 x 10^6 / unitsPerHour.
  const cpu = Number((plan?.cpu ?? version.card.cpu).tiers[0]!.price) / 1e6 / 3.6e9;
  const memory = Number((plan?.memory ?? version.card.memory).tiers[0]!.price) / 1e6 / (2 ** 30 * 3.6e6);
  return { cpu, memory };
}
