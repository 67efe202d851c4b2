// Allocating a range of priced periods to invoice lines: rules 3 and 4 of src/billing/pooled-tiers.ts
// (and examples/pooled-tiers.md). A range's amount per pool is the pool's running cost at its end
// minus at its start; the amounts of one resource are split over the lines, pooled, by largest
// remainder, each line's exact part being its cost at the pools' average prices.
import { UsageError } from '../cli/errors.js';
import { allocateLargestRemainder } from './allocation.js';
import { versionRef, type PriceVersion, type PriceVersionRef } from './price-versions.js';
import { PricingError, runningMicros, type Pool, type PricedItem, type PricedPeriod, type Resource, type UsageItem } from './pooled-tiers.js';

export type LineGrouping = 'machine' | { label: string };

const iso = (ms: number): string => new Date(ms).toISOString();

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

/** Greatest common divisor, always positive (an adjustment's amount may be a credit). */
const gcd = (a: bigint, b: bigint): bigint => {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
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

/** A line's usage and the price versions in it, while its items are added up. */
export interface LineUsage {
  cpuUnits: bigint;
  memUnits: bigint;
  versions: Map<string, PriceVersion>;
}

/** Adds a priced item to its line, and its weight to the line's share of each of its pools. */
export function addToLine(lines: Map<string, LineUsage>, p: PricedItem, key: string, poolWeights: (pool: Pool) => Map<string, bigint>): void {
  let line = lines.get(key);
  if (!line) lines.set(key, (line = { cpuUnits: 0n, memUnits: 0n, versions: new Map() }));
  line.cpuUnits += p.cpu.units;
  line.memUnits += p.memory.units;
  line.versions.set(p.version.digest, p.version);
  for (const part of [p.cpu, p.memory]) {
    const weights = poolWeights(part.pool);
    weights.set(key, (weights.get(key) ?? 0n) + part.weight);
  }
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
  const lines = new Map<string, LineUsage>();
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
      addToLine(lines, p, lineKey(p.item, by), (pool) => poolRanges.get(pool)!.weights);
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
