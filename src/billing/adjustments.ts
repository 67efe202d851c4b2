// Adjustment lines: samples that arrived after their billing period was closed. The closed invoice
// never changes; the late usage is billed on the first open period's invoice, one line per period it
// belongs to and per key, re-rated so the closed period's tiers are respected: each pool of the
// late period is priced with and without the late usage (and with every adjustment billed before),
// and the difference, the marginal cost at that period's tiers, is allocated to the keys by largest
// remainder in proportion to their late usage at the pool's average price. With volume tiers more
// usage can lower every hour's price, so an adjustment may be a credit (negative).
import type { Ledger } from '../ledger/index.js';
import { periodOf, type BillingPeriod } from './dates.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, formatMicros, formatUsageHours } from './money.js';
import { periodUsage } from './period-pricing.js';
import { versionRef, type PriceBook } from './price-versions.js';
import { pricePeriod, type Pool } from './pooled-tiers.js';
import { allocateLargestRemainder } from './allocation.js';
import type { InvoiceLine } from './invoice.js';
import { addToLine, lineKey, type LineGrouping, type LineUsage } from './range-allocation.js';

/** An invoice line's figures for usage that came after its own period was closed, naming that period. */
export type AdjustmentLine = { period: string } & Pick<InvoiceLine, 'key' | 'cpuCoreHours' | 'memGiBHours' | 'cpuCost' | 'memCost' | 'total' | 'versions'>;

const poolKey = (pool: Pool) => `${pool.account}\u0000${pool.plan}\u0000${pool.resource}`;
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The adjustment lines billed on the invoice of `period`, grouped `by`. */
export async function adjustmentsOn(
  ledger: Pick<Ledger, 'usage' | 'adjustedPeriods'>,
  period: Pick<BillingPeriod, 'from' | 'to'>,
  book: PriceBook,
  by: LineGrouping,
): Promise<AdjustmentLine[]> {
  const out: AdjustmentLine[] = [];
  for (const start of await ledger.adjustedPeriods(period.from)) {
    const late = periodOf(start);
    const before = await periodUsage(ledger, late, book, [], { adjustedFrom: 0, adjustedTo: period.from });
    const now = await periodUsage(ledger, late, book, [], { adjustedFrom: period.from, adjustedTo: period.from + 1 });
    const without = new Map(pricePeriod(late, before, book).pools.map((p) => [poolKey(p), p.totalMicros]));
    const priced = pricePeriod(late, [...before, ...now], book);
    const resources = { cpu: new Map<Pool, { amount: bigint; weights: Map<string, bigint> }>(), memory: new Map<Pool, { amount: bigint; weights: Map<string, bigint> }>() };
    const lines = new Map<string, LineUsage>();
    for (const pool of priced.pools) resources[pool.resource].set(pool, { amount: pool.totalMicros - (without.get(poolKey(pool)) ?? 0n), weights: new Map() });
    for (const p of priced.items.slice(before.length)) {
      addToLine(lines, p, lineKey(p.item, by), (pool) => resources[pool.resource].get(pool)!.weights);
    }
    // Pool by pool (a pool's difference has one sign; a credit is split like a charge).
    const keys = [...lines.keys()].sort(byKey);
    const split = (pools: Map<Pool, { amount: bigint; weights: Map<string, bigint> }>) => {
      const shares = new Map<string, bigint>();
      for (const { amount, weights } of pools.values()) {
        if (amount === 0n) continue;
        for (const [key, share] of allocateLargestRemainder(amount, weights)) shares.set(key, (shares.get(key) ?? 0n) + share);
      }
      return shares;
    };
    const cpu = split(resources.cpu);
    const memory = split(resources.memory);
    for (const key of keys) {
      const line = lines.get(key)!;
      const cpuMicros = cpu.get(key) ?? 0n;
      const memMicros = memory.get(key) ?? 0n;
      out.push({
        period: new Date(start).toISOString().slice(0, 7),
        key,
        cpuCoreHours: formatUsageHours(line.cpuUnits, CPU_UNITS_PER_CORE_HOUR),
        memGiBHours: formatUsageHours(line.memUnits, MEM_UNITS_PER_GIB_HOUR),
        cpuCost: formatMicros(cpuMicros),
        memCost: formatMicros(memMicros),
        total: formatMicros(cpuMicros + memMicros),
        versions: [...line.versions.values()].sort((a, b) => a.effectiveFrom - b.effectiveFrom).map(versionRef),
      });
    }
  }
  return out;
}
