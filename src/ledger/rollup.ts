// The usage rollups of a batch's newly inserted samples, summed in memory so each engine writes one
// upsert per bucket: per hour, per month (UTC) and per machine. Pure, so both engines share it.
import { memoryUsage } from '../billing/money.js';
import { ROW_FIELDS, type SampleRows } from './rows.js';
import { HOUR_MS, MonthOfHour } from './time-buckets.js';

const GIB = 2 ** 30;

/** Usage of one machine under one label set in one hour or month, billed in one period. */
export interface UsageBucket {
  /** Hour or month start, epoch ms. */
  at: number;
  machine: string;
  labelSet: number;
  /** 0, or the start of the period whose invoice bills these samples as an adjustment. */
  adjustedIn: number;
  samples: number;
  /** Sum of the window lengths, ms. */
  coveredMs: number;
  /** Exact sums: numbers while they are safe integers, BigInt past 2^53 (big machines, long windows). */
  cpuBusyUs: number | bigint;
  /** byte-ms as whole GiB-ms plus a remainder (see memoryUsage), so sums never overflow 64 bits. */
  memGibMs: number | bigint;
  memRemByteMs: number | bigint;
}

/** a + b exactly: a number while the sum is a safe integer, else a BigInt. */
export function addExact(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

export interface MachineSeen {
  machine: string;
  /** Label set of its latest sample. */
  labelSet: number;
  firstSeen: number;
  lastSeen: number;
  samples: number;
}

export interface Rollups {
  hourly: UsageBucket[];
  monthly: UsageBucket[];
  machines: MachineSeen[];
}

const byKey = <T>(map: Map<string, T>): T[] => [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

/**
 * Rolls up rows `inserted` (indexes into `rows`, each with its label set id in `labelSets`). Buckets
 * come out sorted by key, so concurrent transactions lock rows in one order.
 */
export class RollupBuilder {
  private readonly hourly = new Map<string, UsageBucket>();
  private readonly machines = new Map<string, MachineSeen & { bucket?: UsageBucket }>();

  constructor(private readonly months = new MonthOfHour()) {}

  /** Adds row i of `rows`, interned as label set `labelSet`, billed in its own period (0) or as an adjustment. */
  add(rows: SampleRows, i: number, labelSet: number, adjustedIn = 0): void {
    const v = rows.values;
    const b = i * ROW_FIELDS;
    const machine = rows.machines[i]!;
    const start = v[b + 1]!;
    const end = v[b + 2]!;
    const cpuBusyUs = v[b + 4]!;
    const memUsedBytes = v[b + 5]!;
    const byteMs = memUsedBytes * (end - start);
    let gibMs: number;
    let remByteMs: number;
    if (Number.isSafeInteger(byteMs)) {
      gibMs = Math.floor(byteMs / GIB);
      remByteMs = byteMs - gibMs * GIB;
    } else {
      ({ gibMs, remByteMs } = memoryUsage(memUsedBytes, end - start));
    }
    const hour = start - (((start % HOUR_MS) + HOUR_MS) % HOUR_MS);
    let m = this.machines.get(machine);
    if (!m) {
      m = { machine, labelSet, firstSeen: start, lastSeen: end, samples: 0 };
      this.machines.set(machine, m);
    } else {
      if (end >= m.lastSeen) {
        m.lastSeen = end;
        m.labelSet = labelSet;
      }
      if (start < m.firstSeen) m.firstSeen = start;
    }
    m.samples++;
    // A machine's samples in one batch mostly share an hour and labels: keep its last bucket at hand.
    let agg = m.bucket;
    if (!agg || agg.at !== hour || agg.labelSet !== labelSet || agg.adjustedIn !== adjustedIn) {
      const key = `${hour}\u0000${labelSet}\u0000${adjustedIn}\u0000${machine}`;
      agg = this.hourly.get(key);
      if (!agg) {
        agg = { at: hour, machine, labelSet, adjustedIn, samples: 0, coveredMs: 0, cpuBusyUs: 0, memGibMs: 0, memRemByteMs: 0 };
        this.hourly.set(key, agg);
      }
      m.bucket = agg;
    }
    agg.samples += 1;
    agg.coveredMs += end - start;
    agg.cpuBusyUs = addExact(agg.cpuBusyUs, cpuBusyUs);
    agg.memGibMs = addExact(agg.memGibMs, gibMs);
    agg.memRemByteMs = addExact(agg.memRemByteMs, remByteMs);
  }

  build(): Rollups {
    const monthly = new Map<string, UsageBucket>();
    for (const g of this.hourly.values()) {
      const month = this.months.get(g.at);
      const key = `${month}\u0000${g.labelSet}\u0000${g.adjustedIn}\u0000${g.machine}`;
      const agg = monthly.get(key);
      if (agg) {
        agg.samples += g.samples;
        agg.coveredMs += g.coveredMs;
        agg.cpuBusyUs = addExact(agg.cpuBusyUs, g.cpuBusyUs);
        agg.memGibMs = addExact(agg.memGibMs, g.memGibMs);
        agg.memRemByteMs = addExact(agg.memRemByteMs, g.memRemByteMs);
      } else {
        monthly.set(key, { ...g, at: month });
      }
    }
    return {
      hourly: byKey(this.hourly),
      monthly: byKey(monthly),
      machines: byKey(this.machines).map(({ machine, labelSet, firstSeen, lastSeen, samples }) => ({ machine, labelSet, firstSeen, lastSeen, samples })),
    };
  }
}

export interface SummedUsage {
  machine: string;
  labelSet: number;
  samples: number;
  cpuBusyUs: bigint;
  memByteMs: bigint;
  coveredMs: number;
}

/** Adds usage rows' sums into a per (machine, label set) map: the shape both engines' usage() return. */
export class UsageSums {
  private readonly rows = new Map<string, SummedUsage>();

  add(machine: string, labelSet: number, samples: number, cpu: bigint, memByteMs: bigint, coveredMs: number): void {
    const key = `${machine}\u0000${labelSet}`;
    let row = this.rows.get(key);
    if (!row) this.rows.set(key, (row = { machine, labelSet, samples: 0, cpuBusyUs: 0n, memByteMs: 0n, coveredMs: 0 }));
    row.samples += samples;
    row.cpuBusyUs += cpu;
    row.memByteMs += memByteMs;
    row.coveredMs += coveredMs;
  }

  /** Sorted by machine, then label set. */
  list(): SummedUsage[] {
    return [...this.rows.values()].sort((x, y) => (x.machine < y.machine ? -1 : x.machine > y.machine ? 1 : x.labelSet - y.labelSet));
  }
}
