// The console's production HistorySource: a machine's history and the fleet's recent sparklines from
// the ledger (SQLite or PostgreSQL, through the ledger interface), at the resolution the detail view
// asks for:
// - the last hour and the last 24 hours: the machine's sample windows, one point per sample or
//   averaged into 5-minute or hourly buckets;
// - the billing period by day: the hourly rollups (a month of samples is never read), as the share of
//   the machine's cores and memory used over the time its windows covered that day;
// - coverage of the period so far, computed in the database; cost per day as the invoice prices it.
import type { Ledger, MachineSample, TimeSpan } from '../ledger/index.js';
import { priceBookFor, type RateCard } from '../billing/index.js';
import { bucketPoints, coverageOf, DAY, type HistoryPoint, type HistorySource, type HistoryWindow, type MachineHistoryData } from './history.js';
import { costPerDay } from './history-pricing.js';

/** Gaps shorter than this are not listed (they still count as not covered). */
export const MIN_GAP_MS = 1000;
/** How far before the chart's start a window may start and still end inside it. */
const WINDOW_LOOKBACK_MS = 10 * 60_000;

/** CPU % of the machine's cores and memory % of its memory in one sample window, at its end. */
export function samplePoint(s: MachineSample): HistoryPoint {
  const ms = s.end - s.start;
  return {
    at: s.end,
    cpu: ms > 0 && s.cores > 0 ? (s.cpuBusyUs / 1000 / (s.cores * ms)) * 100 : 0,
    mem: s.memTotalBytes > 0 ? (s.memUsedBytes / s.memTotalBytes) * 100 : 0,
    samples: 1,
  };
}

/** Milliseconds of each UTC day covered by `spans` (disjoint), by day start. */
function coveredByDay(spans: readonly TimeSpan[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of spans) {
    for (let day = Math.floor(s.start / DAY) * DAY; day < s.end; day += DAY) {
      const ms = Math.min(s.end, day + DAY) - Math.max(s.start, day);
      if (ms > 0) out.set(day, (out.get(day) ?? 0) + ms);
    }
  }
  return out;
}

export class LedgerHistory implements HistorySource {
  constructor(
    private readonly ledger: () => Promise<Ledger>,
    /** A --rates card that is a what-if; otherwise the ledger's price versions price the days. */
    private readonly whatIf?: RateCard,
  ) {}

  async machineHistory(machine: string, window: HistoryWindow): Promise<MachineHistoryData> {
    const ledger = await this.ledger();
    // The period so far: coverage and cost per day are for it whatever the chart's range.
    const from = window.period.from;
    const to = Math.max(from, Math.min(window.period.to, window.to));
    const [spans, hours] = await Promise.all([ledger.machineCoverage(machine, from, to), ledger.machineHourlyUsage(machine, from, to)]);
    let points: HistoryPoint[];
    let latest: number | null;
    if (window.stepMs !== null && window.stepMs >= DAY) {
      const newest = (await ledger.recentSamples([machine], from, 1)).get(machine)?.[0];
      latest = newest?.end ?? null;
      points = newest ? this.dayPoints(hours, spans, newest, window) : [];
    } else {
      const samples = await ledger.machineSamples(machine, window.from - WINDOW_LOOKBACK_MS, window.to);
      latest = samples.reduce<number | null>((max, s) => (max === null || s.end > max ? s.end : max), null);
      const inWindow = samples.filter((s) => s.end > window.from && s.end <= window.to).map(samplePoint);
      inWindow.sort((a, b) => a.at - b.at);
      points = bucketPoints(inWindow, window.stepMs);
    }
    return {
      points,
      latest,
      coverage: coverageOf(spans, from, to, MIN_GAP_MS),
      costPerDay: await costPerDay(ledger, machine, window.period, await priceBookFor(ledger, this.whatIf)),
    };
  }

  /**
   * One point per day, at the day's end: CPU busy over (cores x time covered), memory held over
   * (memory x time covered), with the machine's size from its newest sample.
   */
  private dayPoints(hours: Awaited<ReturnType<Ledger['machineHourlyUsage']>>, spans: readonly TimeSpan[], newest: MachineSample, window: HistoryWindow): HistoryPoint[] {
    const covered = coveredByDay(spans);
    const days = new Map<number, { busyUs: bigint; memByteMs: bigint; samples: number }>();
    for (const h of hours) {
      const day = Math.floor(h.hour / DAY) * DAY;
      const d = days.get(day) ?? { busyUs: 0n, memByteMs: 0n, samples: 0 };
      d.busyUs += h.cpuBusyUs;
      d.memByteMs += h.memByteMs;
      d.samples += h.samples;
      days.set(day, d);
    }
    const points: HistoryPoint[] = [];
    for (const day of [...days.keys()].sort((a, b) => a - b)) {
      const ms = covered.get(day) ?? 0;
      const d = days.get(day)!;
      if (ms <= 0 || day + DAY <= window.from) continue;
      points.push({
        at: day + DAY,
        cpu: (Number(d.busyUs) / 1000 / (newest.cores * ms)) * 100,
        mem: (Number(d.memByteMs) / (newest.memTotalBytes * ms)) * 100,
        samples: d.samples,
      });
    }
    return points;
  }

  async recentSparklines(machines: readonly string[], options: { points: number; since: number }): Promise<Map<string, HistoryPoint[]>> {
    const ledger = await this.ledger();
    const found = await ledger.recentSamples(machines, options.since, options.points);
    const out = new Map<string, HistoryPoint[]>();
    for (const [machine, samples] of found) out.set(machine, samples.map(samplePoint));
    return out;
  }
}
