// A machine's history for the detail view and the fleet's sparklines, from a HistorySource: the
// console asks, the source answers asynchronously (the ledger, SQLite or PostgreSQL, behind it).
// Also the pure pieces any source or the console needs: the range windows, coverage and gaps of
// sample windows, and extending a chart with what the live tail saw since.
import type { HistoryRange } from './ui-state.js';
import { coverageGaps, coveredWindows, type TimeWindow } from '../billing/coverage.js';

export type { HistoryRange } from './ui-state.js';

/** CPU and memory % of one sample window (or the mean over a bucket), at the window's end. */
export interface HistoryPoint {
  at: number;
  cpu: number;
  mem: number;
  /** Samples averaged into this point (1 at sample resolution). */
  samples?: number;
}

/** What to read: the chart's time span, its resolution, and the billing period (for coverage and cost per day). */
export interface HistoryWindow {
  range: HistoryRange;
  from: number;
  to: number;
  /** Bucket length in ms; null for one point per sample window. */
  stepMs: number | null;
  period: { from: number; to: number };
}

export interface Coverage {
  /** The part of the period that has passed: [from, to). */
  from: number;
  to: number;
  /** Milliseconds of it covered by sample windows. */
  coveredMs: number;
  /** Stretches of the period no sample window covers. */
  gaps: TimeWindow[];
}

export interface DayCost {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Decimal string in the ledger's currency. */
  cost: string;
}

export interface MachineHistoryData {
  /** Oldest first, within [window.from, window.to], at the window's resolution. */
  points: HistoryPoint[];
  /** End of the newest sample window the source had (the live tail extends from there); null: none. */
  latest: number | null;
  coverage: Coverage;
  costPerDay: DayCost[];
}

/**
 * Where history comes from. Async so that a ledger on another host (PostgreSQL) can serve it; the
 * console never waits on it to draw a frame.
 */
export interface HistorySource {
  machineHistory(machine: string, window: HistoryWindow): Promise<MachineHistoryData>;
  /** The last `points` sample windows of each machine (CPU % and memory %), oldest first. */
  recentSparklines(machines: readonly string[], options: { points: number; since: number }): Promise<Map<string, HistoryPoint[]>>;
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/**
 * The detail view's window for a range: the last hour at sample resolution, the last 24 hours by 5
 * minutes (by the hour when the chart is too narrow to show 5-minute steps), the billing period by day.
 */
export function historyWindow(range: HistoryRange, now: number, period: { from: number; to: number }, chartColumns: number): HistoryWindow {
  switch (range) {
    case 'hour':
      return { range, from: now - HOUR, to: now, stepMs: null, period };
    case 'day':
      return { range, from: now - DAY, to: now, stepMs: chartColumns >= 144 ? 5 * MINUTE : HOUR, period };
    case 'period':
      return { range, from: period.from, to: Math.min(now, period.to), stepMs: DAY, period };
  }
}

/**
 * Coverage of [from, to) by sample windows ([start, end) each, in any order, overlapping or not):
 * the time covered, and the gaps of at least `minGapMs` (shorter ones still count as uncovered).
 */
export function coverageOf(windows: Iterable<TimeWindow>, from: number, to: number, minGapMs = 0): Coverage {
  const covered = coveredWindows(windows, from, to);
  return {
    from,
    to,
    coveredMs: covered.reduce((sum, w) => sum + (w.end - w.start), 0),
    gaps: coverageGaps(covered, from, to).filter((g) => g.end - g.start >= minGapMs),
  };
}

/** Buckets sample points by `stepMs` (each bucket at its end), averaging; null step keeps them. */
export function bucketPoints(points: readonly HistoryPoint[], stepMs: number | null): HistoryPoint[] {
  if (stepMs === null) return points.slice();
  const out: HistoryPoint[] = [];
  for (const p of points) addToBucket(out, p, stepMs);
  return out;
}

function addToBucket(out: HistoryPoint[], p: HistoryPoint, stepMs: number): void {
  const at = Math.ceil(p.at / stepMs) * stepMs;
  const n = p.samples ?? 1;
  const last = out[out.length - 1];
  if (last && last.at === at) {
    const m = last.samples ?? 1;
    last.cpu = (last.cpu * m + p.cpu * n) / (m + n);
    last.mem = (last.mem * m + p.mem * n) / (m + n);
    last.samples = m + n;
  } else {
    out.push({ at, cpu: p.cpu, mem: p.mem, samples: n });
  }
}

/**
 * The history extended by the live tail: tail samples that end after `after` (the newest sample the
 * source had) are added, into the last bucket or new ones at the window's resolution. Pure.
 */
export function extendWithTail(
  history: readonly HistoryPoint[],
  after: number | null,
  tail: { ends: readonly number[]; cpu: readonly number[]; mem: readonly number[] },
  window: Pick<HistoryWindow, 'from' | 'stepMs'>,
): HistoryPoint[] {
  const out = history.map((p) => ({ ...p }));
  let last = Math.max(after ?? -Infinity, window.from);
  for (let i = 0; i < tail.ends.length; i++) {
    const at = tail.ends[i]!;
    if (at <= last) continue;
    const p = { at, cpu: tail.cpu[i]!, mem: tail.mem[i]!, samples: 1 };
    if (window.stepMs === null) out.push(p);
    else addToBucket(out, p, window.stepMs);
    last = at;
  }
  return out;
}
