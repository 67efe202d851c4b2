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
import { UsageError } from '../cli/errors.js';
import { allocateLargestRemainder } from './allocation.js';
import type { BillingPeriod } from './dates.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, MICROS, PRICE_SCALE, QUANTITY_SCALE, divRoundHalfUp } from './money.js';
import { firstPricedHour, versionRef, type PriceBook, type PriceVersion, type PriceVersionRef } from './price-versions.js';
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

export type LineGrouping = 'machine' | { label: string };
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
interface PricedItem {
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
function runningMicros(pool: Pool, weightBefore: bigint): bigint {
  return pool.denominator === 0n ? 0n : divRoundHalfUp(weightBefore * MICROS, pool.denominator);
}

export interface AllocatedLine {
  key: string;
  cpuUnits: bigint;
  memUnits: bigint;
  cpuMicros: bigint;
  memMicros: bigint;
  totalMicros: bigint;
  /** The price versions whose hours are in this line, by effective time. */
  versions: PriceVersionRef[];
}

export interface AccountTotal {
  account: string;
  cpuMicros: bigint;
  memMicros: bigint;
  totalMicros: bigint;
}

export interface AllocatedRange {
  currency: string;
  from: number;
  to: number;
  /** By key, in code-unit order. */
  lines: AllocatedLine[];
  /** Per billing account, by account. */
  accounts: AccountTotal[];
  cpuMicros: bigint;
  memMicros: bigint;
  totalMicros: bigint;
  versions: PriceVersionRef[];
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function lineKey(item: UsageItem, by: LineGrouping): string {
  return by === 'machine' ? item.machine : (item.labels[by.label] ?? '(none)');
}

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

/**
 * Allocates one resource's range amounts, pool by pool, to lines as one largest-remainder split of
 * their sum: each line's exact part is sum over pools of (pool's range amount x line's weight in the
 * pool / pool's range weight), brought to a common denominator so the split is exact.
 */
function allocateResource(
  pools: Map<Pool, { amount: bigint; weights: Map<string, bigint> }>,
  keys: readonly string[],
): Map<string, bigint> {
  const parts: { amount: bigint; rangeWeight: bigint; weights: Map<string, bigint> }[] = [];
  let total = 0n;
  let common = 1n;
  for (const { amount, weights } of pools.values()) {
    if (amount === 0n) continue;
    let rangeWeight = 0n;
    for (const w of weights.values()) rangeWeight += w;
    // amount / rangeWeight in lowest terms keeps the common denominator small.
    const g = gcd(amount, rangeWeight);
    const reduced = { amount: amount / g, rangeWeight: rangeWeight / g, weights };
    parts.push(reduced);
    total += amount;
    common = (common / gcd(common, reduced.rangeWeight)) * reduced.rangeWeight;
  }
  const exactParts = new Map<string, bigint>(keys.map((k) => [k, 0n]));
  for (const { amount, rangeWeight, weights } of parts) {
    const scale = amount * (common / rangeWeight);
    for (const [key, w] of weights) exactParts.set(key, exactParts.get(key)! + w * scale);
  }
  return allocateLargestRemainder(total, exactParts);
}

/**
 * The invoice amounts of [from, to) grouped `by` machine or label: each pool's range amount,
 * allocated to lines. `periods` are the priced billing periods the range touches (each priced on
 * its whole usage so far); items outside the range only set the tiers.
 */
export function allocateRange(periods: readonly PricedPeriod[], range: { from: number; to: number }, by: LineGrouping): AllocatedRange {
  if (!(range.to > range.from)) throw new UsageError('the invoice range is empty: --to must be after --from');
  const currencies = new Set(periods.filter((p) => p.period.from < range.to && p.period.to > range.from && p.items.length > 0).map((p) => p.currency));
  if (currencies.size > 1) {
    throw new PricingError(`the range ${iso(range.from)}..${iso(range.to)} is billed in ${[...currencies].join(' and ')}; invoice each currency's periods separately`);
  }
  type PoolRange = { before: bigint; inRange: bigint; weights: Map<string, bigint> };
  const poolRanges = new Map<Pool, PoolRange>();
  const lines = new Map<string, { cpuUnits: bigint; memUnits: bigint; versions: Map<string, PriceVersion> }>();
  for (const priced of periods) {
    for (const pool of priced.pools) poolRanges.set(pool, { before: 0n, inRange: 0n, weights: new Map() });
    for (const p of priced.items) {
      const at = p.item.at;
      if (at >= range.to) continue;
      for (const part of [p.cpu, p.memory]) {
        const r = poolRanges.get(part.pool)!;
        if (at < range.from) r.before += part.weight;
        else r.inRange += part.weight;
      }
      if (at < range.from) continue;
      const key = lineKey(p.item, by);
      let line = lines.get(key);
      if (!line) lines.set(key, (line = { cpuUnits: 0n, memUnits: 0n, versions: new Map() }));
      line.cpuUnits += p.cpu.units;
      line.memUnits += p.memory.units;
      line.versions.set(p.version.digest, p.version);
      for (const part of [p.cpu, p.memory]) {
        const weights = poolRanges.get(part.pool)!.weights;
        weights.set(key, (weights.get(key) ?? 0n) + part.weight);
      }
    }
  }
  const keys = [...lines.keys()].sort(byKey);
  const byResource: Record<Resource, Map<Pool, { amount: bigint; weights: Map<string, bigint> }>> = { cpu: new Map(), memory: new Map() };
  const accounts = new Map<string, AccountTotal>();
  for (const [pool, r] of poolRanges) {
    // A(to) - A(from): the running cost telescopes, so split ranges add up to the period.
    const amount = runningMicros(pool, r.before + r.inRange) - runningMicros(pool, r.before);
    byResource[pool.resource].set(pool, { amount, weights: r.weights });
    if (r.weights.size === 0) continue;
    let account = accounts.get(pool.account);
    if (!account) accounts.set(pool.account, (account = { account: pool.account, cpuMicros: 0n, memMicros: 0n, totalMicros: 0n }));
    if (pool.resource === 'cpu') account.cpuMicros += amount;
    else account.memMicros += amount;
    account.totalMicros += amount;
  }
  const cpu = allocateResource(byResource.cpu, keys);
  const memory = allocateResource(byResource.memory, keys);
  const allVersions = new Map<string, PriceVersion>();
  const out: AllocatedLine[] = keys.map((key) => {
    const line = lines.get(key)!;
    for (const [digest, v] of line.versions) allVersions.set(digest, v);
    const cpuMicros = cpu.get(key)!;
    const memMicros = memory.get(key)!;
    return {
      key,
      cpuUnits: line.cpuUnits,
      memUnits: line.memUnits,
      cpuMicros,
      memMicros,
      totalMicros: cpuMicros + memMicros,
      versions: refs(line.versions.values()),
    };
  });
  const cpuMicros = out.reduce((sum, l) => sum + l.cpuMicros, 0n);
  const memMicros = out.reduce((sum, l) => sum + l.memMicros, 0n);
  return {
    currency: [...currencies][0] ?? periods[0]?.currency ?? 'USD',
    from: range.from,
    to: range.to,
    lines: out,
    accounts: [...accounts.values()].sort((a, b) => byKey(a.account, b.account)),
    cpuMicros,
    memMicros,
    totalMicros: cpuMicros + memMicros,
    versions: refs(allVersions.values()),
  };
}

const refs = (versions: Iterable<PriceVersion>): PriceVersionRef[] =>
  [...versions].sort((a, b) => a.effectiveFrom - b.effectiveFrom).map(versionRef);
