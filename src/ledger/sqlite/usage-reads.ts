// The SQLite ledger's usage reads: sums over a range (whole months and hours from the rollups, ragged
// ends from raw samples), hourly rows, and raw samples for `meter invoice explain`. Each runs inside
// one read transaction, so its parts agree.
import type Database from 'better-sqlite3';
import type { HourlyUsageRow, RawSample, UsageFilter, UsageRow } from '../ledger.js';
import { UsageSums } from '../rollup.js';
import { idOf } from '../rows.js';
import { HOUR_MS, splitRange } from '../time-buckets.js';
import type { ReadStatements } from './statements.js';

type Summed = { machine: string; label_set: bigint; samples: bigint; cpu: bigint; gib: bigint; rem: bigint; covered: bigint };
type Raw = { machine: string; label_set: bigint; start_ms: bigint; window_ms: bigint; cpu_busy_us: bigint; mem_used_bytes: bigint };
type RawRow = {
  prefix: string;
  whole: bigint;
  seq: bigint;
  machine: string;
  labels: string;
  start_ms: bigint;
  window_ms: bigint;
  cores: bigint;
  cpu_busy_us: bigint;
  mem_used_bytes: bigint;
  mem_total_bytes: bigint;
  ingest_lag_ms: bigint;
  adjusted_in: bigint;
};

const ALL: UsageFilter = { adjustedFrom: 0, adjustedTo: Number.MAX_SAFE_INTEGER };

export class SqliteUsageReads {
  private readonly labelsById = new Map<number, Record<string, string>>();

  constructor(
    private readonly db: Database.Database,
    private readonly r: ReadStatements,
  ) {}

  labels(labelSet: number): Record<string, string> {
    let labels = this.labelsById.get(labelSet);
    if (!labels) {
      const row = this.r.labelsById.get(labelSet) as { labels: string } | undefined;
      labels = row ? (JSON.parse(row.labels) as Record<string, string>) : {};
      this.labelsById.set(labelSet, labels);
    }
    return labels;
  }

  /** Whole months from the monthly table, whole hours from the hourly one, the ragged ends from raw samples; one read transaction. */
  usage(from: number, to: number, filter: UsageFilter = ALL): UsageRow[] {
    const parts = splitRange(from, to);
    const sums = new UsageSums();
    const { adjustedFrom: lo, adjustedTo: hi } = filter;
    this.db.transaction(() => {
      for (const [stmt, ranges] of [
        [this.r.monthly, parts.months],
        [this.r.hourly, parts.hours],
      ] as const) {
        for (const [a, b] of ranges) {
          for (const r of stmt.all(a, b, lo, hi) as Summed[]) {
            sums.add(r.machine, Number(r.label_set), Number(r.samples), r.cpu, (r.gib << 30n) + r.rem, Number(r.covered));
          }
        }
      }
      for (const [a, b] of parts.raw) {
        for (const r of this.r.raw.all(a, b, lo, hi) as Raw[]) {
          sums.add(r.machine, Number(r.label_set), 1, r.cpu_busy_us, r.mem_used_bytes * r.window_ms, Number(r.window_ms));
        }
      }
    })();
    return sums.list().map((row) => ({ ...row, labels: this.labels(row.labelSet) }));
  }

  hourlyUsage(from: number, to: number, filter: UsageFilter = ALL): HourlyUsageRow[] {
    const start = Math.floor(from / HOUR_MS) * HOUR_MS;
    return (this.r.hourlyRows.all(start, to, filter.adjustedFrom, filter.adjustedTo) as (Summed & { hour_ms: bigint })[]).map((r) => ({
      hour: Number(r.hour_ms),
      machine: r.machine,
      labelSet: Number(r.label_set),
      labels: this.labels(Number(r.label_set)),
      samples: Number(r.samples),
      cpuBusyUs: r.cpu,
      memByteMs: (r.gib << 30n) + r.rem,
      coveredMs: Number(r.covered),
    }));
  }

  rawSamples(from: number, to: number, machines?: readonly string[]): RawSample[] {
    const rows: RawRow[] = [];
    this.db.transaction(() => {
      if (machines) for (const m of [...machines].sort()) rows.push(...(this.r.rawOfMachine.all(m, from, to) as RawRow[]));
      else rows.push(...(this.r.rawAll.all(from, to) as RawRow[]));
    })();
    return rows.map(rawSample);
  }
}

/** A raw row (either engine's, as BigInts) as a RawSample. */
export function rawSample(r: RawRow): RawSample {
  const start = Number(r.start_ms);
  const end = start + Number(r.window_ms);
  return {
    id: idOf(r.prefix, Number(r.seq), Number(r.whole)),
    machine: r.machine,
    labels: JSON.parse(r.labels) as Record<string, string>,
    start,
    end,
    cores: Number(r.cores),
    cpuBusyUs: BigInt(r.cpu_busy_us),
    memUsedBytes: Number(r.mem_used_bytes),
    memTotalBytes: Number(r.mem_total_bytes),
    ingestedAt: end + Number(r.ingest_lag_ms),
    adjustedIn: Number(r.adjusted_in),
  };
}

export type { RawRow };
