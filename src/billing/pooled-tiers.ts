// Pooled tiers: tiers priced on an account's usage over the whole billing period, then the exact
// amount allocated to invoice lines. The rule, with a worked example a finance reader can check by
// hand, is in examples/pooled-tiers.md. In short:
//
// 1. Pools. Each hour of usage is priced with the price version in force at that hour. That version
//    names the hour's account (the fleet, or a label value) and plan (by label or machine name). The
//    usage of one account, plan and resource (CPU or memory) over the period is one pool; its total U
//    is what the tiers see.
// 2. Price of a pool. Each version v that priced hours of the pool prices U through its own tiers,
//    C_v(U); its average price at U is C_v(U)/U. Usage u priced by version v costs u x C_v(U)/U. With
//    one version the pool costs exactly C_v(U), whichever hours or lines the usage came from.
// 3. Ranges. The pool's running cost up to an instant t, A(t), is the exact cost of its usage before
//    t, rounded half up to 0.000001. A range [from, to) costs A(to) - A(from): ranges that split a
//    period add up to the period exactly, and each is within 0.000001 of its exact share.
// 4. Lines. A range's amount per resource is allocated to its lines (machines, or values of any
//    label) in proportion to each line's exact cost at the pools' average prices, by largest
//    remainder (src/billing/allocation.ts). Lines sum to the total to the micro-unit, and the total
//    does not depend on the grouping.
// This module prices periods (rules 1 and 2, and the running cost of rule 3); allocating a range of
// them to lines is src/billing/range-allocation.ts.
import { UsageError } from '../cli/errors.js';
import { hourStart, type BillingPeriod } from './dates.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, MICROS, PRICE_SCALE, QUANTITY_SCALE, divRoundHalfUp } from './money.js';
import { firstPricedHour, type PriceBook, type PriceVersion } from './price-versions.js';
import { accountOf, planFor, type PriceSpec } from './rate-card.js';
import { costNumerator } from './rating.js';

/** Usage of one machine under one label set in one hour (or a raw part of one), in exact units. */
export interface UsageItem {
  /** Epoch ms inside the hour the usage belongs to (the hour's start for hourly rollups). */
  at: number;
  machine: string;
  labels: Readonly<Record<string, string>>;
  /** CPU busy microseconds. */
  cpuBusyUs: bigint;
  /** Memory byte-milliseconds. */
  memByteMs: bigint;
}

export type Resource = 'cpu' | 'memory';

const UNITS_PER_HOUR: Record<Resource, bigint> = { cpu: CPU_UNITS_PER_CORE_HOUR, memory: MEM_UNITS_PER_GIB_HOUR };

/** One account's usage of one resource under one plan over a period. */
export interface Pool {
  account: string;
  /** The plan's name, or "" for the card's own prices. */
  plan: string;
  resource: Resource;
  /** U: the pool's usage over the period so far, in the resource's units. */
  units: bigint;
  /** sum of u x C_v(U) over its usage; the pool's exact cost is weight x MICROS / denominator micro-units. */
  weight: bigint;
  denominator: bigint;
  /** The pool's cost for the whole period, rounded half up to micro-units. */
  totalMicros: bigint;
}

/** One usage item as priced: which pool each resource went to, and its weight there. */
export interface PricedItem {
  item: UsageItem;
  version: PriceVersion;
  cpu: { pool: Pool; units: bigint; weight: bigint };
  memory: { pool: Pool; units: bigint; weight: bigint };
}

export interface PricedPeriod {
  period: Pick<BillingPeriod, 'from' | 'to'>;
  currency: string;
  pools: Pool[];
  items: PricedItem[];
}

/** A period that cannot be priced as asked (for example two currencies in one period). */
export class PricingError extends UsageError {}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Prices a billing period's usage so far: pools, their totals, and each item's share. `usage` must be
 * every item of the period (from <= at < to): tiers see the whole period, whatever range is invoiced.
 */
export function pricePeriod(period: Pick<BillingPeriod, 'from' | 'to'>, usage: Iterable<UsageItem>, book: PriceBook): PricedPeriod {
  const pools = new Map<string, Pool>();
  const specs = new Map<Pool, Map<PriceVersion, PriceSpec>>();
  const pending: { item: UsageItem; version: PriceVersion; cpu: Pool; memory: Pool }[] = [];
  let currency: { code: string; version: PriceVersion } | undefined;
  const poolFor = (account: string, plan: string, resource: Resource, version: PriceVersion, spec: PriceSpec): Pool => {
    const key = `${account}\u0000${plan}\u0000${resource}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = { account, plan, resource, units: 0n, weight: 0n, denominator: 0n, totalMicros: 0n };
      pools.set(key, pool);
      specs.set(pool, new Map());
    }
    specs.get(pool)!.set(version, spec);
    return pool;
  };
  for (const item of usage) {
    if (!(item.at >= period.from && item.at < period.to)) {
      throw new RangeError(`usage of ${item.machine} at ${iso(item.at)} is outside the period ${iso(period.from)}..${iso(period.to)}`);
    }
    const version = book.versionAt(item.at);
    if (!version) throw new PricingError('no price version in the ledger; add one with meter rates add FILE --effective TIME');
    if (!currency) currency = { code: version.card.currency, version };
    else if (currency.code !== version.card.currency) {
      throw new PricingError(
        `prices change currency within ${iso(period.from).slice(0, 7)} (${currency.code} in version ${currency.version.digest.slice(0, 12)}, ${version.card.currency} in ${version.digest.slice(0, 12)}); a period is billed in one currency: make the new currency effective from the next period`,
      );
    }
    const card = version.card;
    const plan = planFor(card, item.machine, item.labels);
    const account = accountOf(card, item.labels);
    const planName = plan?.name ?? '';
    const cpu = poolFor(account, planName, 'cpu', version, plan?.cpu ?? card.cpu);
    const memory = poolFor(account, planName, 'memory', version, plan?.memory ?? card.memory);
    cpu.units += item.cpuBusyUs;
    memory.units += item.memByteMs;
    pending.push({ item, version, cpu, memory });
  }
  // C_v(U) for every version of every pool, now that each pool's U is known.
  const costAtTotal = new Map<Pool, Map<PriceVersion, bigint>>();
  for (const pool of pools.values()) {
    const perVersion = new Map<PriceVersion, bigint>();
    for (const [version, spec] of specs.get(pool)!) perVersion.set(version, costNumerator(pool.units, UNITS_PER_HOUR[pool.resource], spec));
    costAtTotal.set(pool, perVersion);
    pool.denominator = pool.units * UNITS_PER_HOUR[pool.resource] * QUANTITY_SCALE * PRICE_SCALE;
  }
  const share = (pool: Pool, version: PriceVersion, units: bigint) => {
    const weight = units * costAtTotal.get(pool)!.get(version)!;
    pool.weight += weight;
    return { pool, units, weight };
  };
  const items: PricedItem[] = pending.map(({ item, version, cpu, memory }) => ({
    item,
    version,
    cpu: share(cpu, version, item.cpuBusyUs),
    memory: share(memory, version, item.memByteMs),
  }));
  for (const pool of pools.values()) pool.totalMicros = runningMicros(pool, pool.weight);
  return { period, currency: currency?.code ?? book.versionAt(period.from)?.card.currency ?? 'USD', pools: [...pools.values()], items };
}

/**
 * The spans of `period` inside which usage may be summed into one item (with `at` = the span's start)
 * without changing its price or its range: the period split at each version's first priced hour and
 * at each of `cuts` (the ends of the ranges to be invoiced). A ledger can answer a span from its
 * month and hour rollups instead of handing over every hour of every machine.
 */
export function pricingSpans(period: Pick<BillingPeriod, 'from' | 'to'>, book: PriceBook, cuts: Iterable<number> = []): { from: number; to: number }[] {
  const bounds = new Set<number>([period.from, period.to]);
  for (const v of book.versions) bounds.add(firstPricedHour(v));
  for (const cut of cuts) bounds.add(cut);
  const sorted = [...bounds].filter((b) => b >= period.from && b <= period.to).sort((a, b) => a - b);
  return sorted.slice(1).map((to, i) => ({ from: sorted[i]!, to }));
}

/** A(t) for a pool, given the weight of its usage before t. */
export function runningMicros(pool: Pool, weightBefore: bigint): bigint {
  return pool.denominator === 0n ? 0n : divRoundHalfUp(weightBefore * MICROS, pool.denominator);
}

/**
 * Each hour's cost at its pools' average prices, micro-units as numbers (for forecasting, not for
 * billing: they are not rounded), keyed by the hour's start, for the usage `select` keeps (all of it
 * by default). Before a period ends its average prices still move with its usage.
 */
export function hourlyCosts(periods: readonly PricedPeriod[], select: (item: UsageItem) => boolean = () => true): Map<number, number> {
  const hours = new Map<number, number>();
  for (const priced of periods) {
    for (const p of priced.items) {
      if (!select(p.item)) continue;
      const hour = hourStart(p.item.at);
      let cost = hours.get(hour) ?? 0;
      for (const part of [p.cpu, p.memory]) {
        if (part.pool.denominator > 0n) cost += Number((part.weight * MICROS * 1000n) / part.pool.denominator) / 1000;
      }
      hours.set(hour, cost);
    }
  }
  return hours;
}
