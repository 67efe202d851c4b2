// The SQLite ledger's history reads (the console's detail view and sparklines): one machine's sample
// windows, its hourly rollups, what its windows cover, and the fleet's latest samples in one read.
// Reads of one machine go through its runs and samples_by_run_start (run, start_ms, window_ms);
// coverage is answered from that index alone.
import type Database from 'better-sqlite3';
import type { MachineHourUsage, MachineSample, TimeSpan } from '../ledger.js';
import { MACHINE_SAMPLES_FROM, SAMPLE_COLUMNS, islandsSql, machineSamplesSql, spansFromIslands, windowBeforeSql, type IslandRow } from '../history-spans.js';
import { HOUR_MS } from '../time-buckets.js';

type SampleRow = { machine?: string; start_ms: number; end_ms: number; cores: number; cpu_busy_us: number; mem_used_bytes: number; mem_total_bytes: number };

const toSample = (r: SampleRow): MachineSample => ({
  start: r.start_ms,
  end: r.end_ms,
  cores: r.cores,
  cpuBusyUs: r.cpu_busy_us,
  memUsedBytes: r.mem_used_bytes,
  memTotalBytes: r.mem_total_bytes,
});

export class SqliteHistory {
  private readonly samples: Database.Statement;
  private readonly recent: Database.Statement;
  private readonly hourly: Database.Statement;
  private readonly islands: Database.Statement;
  private readonly before: Database.Statement;

  constructor(private readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.samples = p(machineSamplesSql(() => '?'));
    this.recent = p(`SELECT * FROM (
        SELECT r.machine, ${SAMPLE_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY r.machine ORDER BY s.start_ms DESC) AS n
        FROM ${MACHINE_SAMPLES_FROM} WHERE r.machine IN (SELECT value FROM json_each(?)) AND s.start_ms >= ?
      ) WHERE n <= ? ORDER BY machine, start_ms`);
    // One index seek per hour (the rollup's key starts with the hour), not a scan of every machine's hours.
    this.hourly = p(`WITH RECURSIVE hours(h) AS (SELECT ? UNION ALL SELECT h + ${HOUR_MS} FROM hours WHERE h + ${HOUR_MS} < ?)
        SELECT u.hour_ms, l.labels, SUM(u.samples) AS samples, SUM(u.cpu_busy_us) AS cpu_busy_us, SUM(u.mem_gib_ms) AS mem_gib_ms, SUM(u.mem_rem_byte_ms) AS mem_rem_byte_ms
        FROM hours JOIN usage_hourly u ON u.hour_ms = hours.h AND u.machine = ? JOIN label_sets l ON l.id = u.label_set
        GROUP BY u.hour_ms, u.label_set ORDER BY u.hour_ms, u.label_set`).safeIntegers(true);
    this.islands = p(islandsSql(() => '?'));
    this.before = p(windowBeforeSql(() => '?'));
  }

  machineSamples(machine: string, from: number, to: number): MachineSample[] {
    return (this.samples.all(machine, from, to) as SampleRow[]).map(toSample);
  }

  recentSamples(machines: readonly string[], since: number, points: number): Map<string, MachineSample[]> {
    const out = new Map<string, MachineSample[]>();
    if (machines.length === 0 || points <= 0) return out;
    for (const r of this.recent.all(JSON.stringify(machines), since, points) as Required<SampleRow>[]) {
      let list = out.get(r.machine);
      if (!list) out.set(r.machine, (list = []));
      list.push(toSample(r));
    }
    return out;
  }

  machineHourlyUsage(machine: string, from: number, to: number): MachineHourUsage[] {
    const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
    if (first >= to) return [];
    type Row = { hour_ms: bigint; labels: string; samples: bigint; cpu_busy_us: bigint; mem_gib_ms: bigint; mem_rem_byte_ms: bigint };
    return (this.hourly.all(first, to, machine) as Row[]).map((r) => ({
      hour: Number(r.hour_ms),
      labels: JSON.parse(r.labels) as Record<string, string>,
      samples: Number(r.samples),
      cpuBusyUs: r.cpu_busy_us,
      memByteMs: (r.mem_gib_ms << 30n) + r.mem_rem_byte_ms,
    }));
  }

  machineCoverage(machine: string, from: number, to: number): TimeSpan[] {
    if (!(to > from)) return [];
    // One snapshot for both reads: a batch committed between them cannot be half seen.
    return this.db.transaction(() => {
      const rows = (this.islands.all(machine, from, to) as { start_ms: number; prev_end: number | null; run_end: number; last: number }[]).map(
        (r): IslandRow => ({ start: r.start_ms, prevEnd: r.prev_end, runEnd: r.run_end, last: r.last === 1 }),
      );
      const before = this.before.get(machine, from) as { start_ms: number; end_ms: number } | undefined;
      return spansFromIslands(rows, before && { start: before.start_ms, end: before.end_ms }, from, to);
    })();
  }
}
