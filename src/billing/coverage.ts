// Coverage: how much of a time range a machine's sample windows cover, and cost rates that divide
// by that covered time rather than by a fixed window.
//
// A machine that started two minutes ago has two minutes of cost; divided by a one-hour window it
// looks 30 times cheaper than it is. Its rate is its cost over the time it actually reported:
//   machine rate = cost in the window x 1 h / time its samples cover in the window
// and a label's or the fleet's rate is the sum of its machines' rates (machines run side by side),
// each rounded half up to 0.000001, so the console's per-machine rates add up to the fleet's.
import { HOUR_MS } from './dates.js';
import { divRoundHalfUp } from './money.js';

export interface TimeWindow {
  start: number;
  end: number;
}

/** The union of `windows` clipped to [from, to), as disjoint windows in time order. */
export function coveredWindows(windows: Iterable<TimeWindow>, from: number, to: number): TimeWindow[] {
  const clipped = [...windows]
    .map((w) => ({ start: Math.max(w.start, from), end: Math.min(w.end, to) }))
    .filter((w) => w.end > w.start)
    .sort((a, b) => a.start - b.start);
  const merged: TimeWindow[] = [];
  for (const w of clipped) {
    const last = merged.at(-1);
    if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
    else merged.push({ ...w });
  }
  return merged;
}

/** Milliseconds of [from, to) covered by at least one of `windows` (overlaps and repeats count once). */
export function coveredMs(windows: Iterable<TimeWindow>, from: number, to: number): number {
  return coveredWindows(windows, from, to).reduce((sum, w) => sum + (w.end - w.start), 0);
}

/** The parts of [from, to) that no window covers, in time order: what `invoice explain` lists. */
export function coverageGaps(windows: Iterable<TimeWindow>, from: number, to: number): TimeWindow[] {
  const gaps: TimeWindow[] = [];
  let cursor = from;
  for (const w of coveredWindows(windows, from, to)) {
    if (w.start > cursor) gaps.push({ start: cursor, end: w.start });
    cursor = w.end;
  }
  if (cursor < to) gaps.push({ start: cursor, end: to });
  return gaps;
}

export interface MachineCost {
  machine: string;
  labels: Readonly<Record<string, string>>;
  /** The cost of its usage in the rate window, micro-units. */
  costMicros: bigint;
  /**
   * The same cost unrounded (micro-units as a float), when it comes from average prices: a rate over
   * two minutes of coverage would multiply a rounding of costMicros thirty times.
   */
  costUnrounded?: number;
  /** How long its samples cover the rate window, ms (coveredMs() of its windows, or the ledger's sum). */
  coveredMs: number;
  /** End of its latest sample window, epoch ms; with RateOptions.now and staleAfterMs, it says who stopped. */
  lastSeen?: number;
}

/** Cost per hour over the time covered, micro-units, rounded half up; 0 when nothing was covered. */
export function machineRateMicros(cost: Pick<MachineCost, 'costMicros' | 'coveredMs' | 'costUnrounded'>): bigint {
  if (!(cost.coveredMs > 0)) return 0n;
  if (cost.costUnrounded !== undefined) return BigInt(Math.round((cost.costUnrounded * HOUR_MS) / cost.coveredMs));
  return divRoundHalfUp(cost.costMicros * BigInt(HOUR_MS), BigInt(Math.round(cost.coveredMs)));
}

export type RateGrouping = 'fleet' | 'machine' | { label: string };

export interface CostRate {
  key: string;
  /** Sum of its running machines' rates, micro-units per hour. */
  perHourMicros: bigint;
  /** Machines counted in the rate. */
  machines: number;
  /** Machines left out because they stopped reporting (lastSeen older than staleAfterMs). */
  stopped: number;
  /** The shortest covered time among the counted machines, ms: how little some rate rests on. */
  minCoveredMs: number;
}

export interface RateOptions {
  now?: number;
  /** A machine silent for longer than this before `now` no longer costs anything now. */
  staleAfterMs?: number;
}

/** Cost per hour now for each machine, each label value, or the fleet, by key. */
export function costRates(machines: Iterable<MachineCost>, by: RateGrouping, options: RateOptions = {}): CostRate[] {
  const groups = new Map<string, CostRate>();
  for (const m of machines) {
    const key = by === 'fleet' ? 'fleet' : by === 'machine' ? m.machine : (m.labels[by.label] ?? '(none)');
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { key, perHourMicros: 0n, machines: 0, stopped: 0, minCoveredMs: Infinity }));
    const { now, staleAfterMs } = options;
    if (now !== undefined && staleAfterMs !== undefined && m.lastSeen !== undefined && m.lastSeen < now - staleAfterMs) {
      group.stopped++;
      continue;
    }
    group.perHourMicros += machineRateMicros(m);
    group.machines++;
    group.minCoveredMs = Math.min(group.minCoveredMs, m.coveredMs);
  }
  return [...groups.values()]
    .map((g) => ({ ...g, minCoveredMs: g.machines === 0 ? 0 : g.minCoveredMs }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
