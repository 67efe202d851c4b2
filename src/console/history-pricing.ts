// A machine's cost per UTC day for the detail view, priced by src/billing the way its invoice line is:
// the period priced on the account's pooled tiers with the price versions in force each hour, the
// machine's line allocated from its pools (allocateRange), then the line's CPU and memory amounts
// split over the days in proportion to the machine's exact cost each day, by largest remainder. So
// the days always add up to the machine's invoice line (the fleet pane's PERIOD column) to the
// micro-unit, tiers, plans and price changes included.
import {
  allocateLargestRemainder,
  allocateRange,
  formatMicros,
  MICROS,
  periodUsage,
  pricePeriod,
  type PriceBook,
} from '../billing/index.js';
import type { Ledger } from '../ledger/index.js';
import type { DayCost } from './history.js';

const DAY_MS = 86_400_000;
// Weights are exact costs scaled by this much over a micro-unit, so days a micro-unit apart still differ.
const SCALE = MICROS * 1_000_000n;

/** Cost per UTC day (YYYY-MM-DD, oldest first) of one machine over a billing period, with `book`'s prices. */
export async function costPerDay(
  ledger: Pick<Ledger, 'usage'>,
  machine: string,
  period: { from: number; to: number },
  book: PriceBook,
): Promise<DayCost[]> {
  const cuts: number[] = [];
  for (let day = Math.floor(period.from / DAY_MS) * DAY_MS + DAY_MS; day < period.to; day += DAY_MS) cuts.push(day);
  const priced = pricePeriod(period, await periodUsage(ledger, period, book, cuts), book);
  if (priced.items.length === 0) return [];
  const line = allocateRange([priced], period, 'machine').lines.find((l) => l.key === machine);
  if (!line) return [];
  const cpu = new Map<string, bigint>();
  const mem = new Map<string, bigint>();
  for (const p of priced.items) {
    if (p.item.machine !== machine) continue;
    const day = new Date(Math.floor(p.item.at / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
    const share = (part: typeof p.cpu) => (part.pool.denominator === 0n ? 0n : (part.weight * SCALE) / part.pool.denominator);
    cpu.set(day, (cpu.get(day) ?? 0n) + share(p.cpu));
    mem.set(day, (mem.get(day) ?? 0n) + share(p.memory));
  }
  const split = (amount: bigint, weights: Map<string, bigint>) =>
    [...weights.values()].some((w) => w > 0n) ? allocateLargestRemainder(amount, weights) : new Map([...weights.keys()].map((k) => [k, 0n]));
  const cpuDays = split(line.cpuMicros, cpu);
  const memDays = split(line.memMicros, mem);
  return [...cpu.keys()].sort().map((day) => ({ day, cost: formatMicros((cpuDays.get(day) ?? 0n) + (memDays.get(day) ?? 0n)) }));
}
