// The PostgreSQL ledger's usage reads (see ../sqlite/usage-reads.ts for what each answers), on one
// connection inside the caller's read transaction.
import type pg from 'pg';
import type { HourlyUsageRow, RawSample, UsageFilter, UsageRow } from '../ledger.js';
import { UsageSums } from '../rollup.js';
import { HOUR_MS, splitRange } from '../time-buckets.js';
import { rawSample, type RawRow } from '../sqlite/usage-reads.js';

const USAGE_SUMS = 'SUM(samples) AS samples, SUM(cpu_busy_us) AS cpu, SUM(mem_gib_ms) AS gib, SUM(mem_rem_byte_ms) AS rem, SUM(covered_ms) AS covered';
type Summed = { machine: string; label_set: bigint; samples: bigint; cpu: bigint; gib: bigint; rem: bigint; covered: bigint };
const RAW_COLUMNS = `r.prefix, r.whole, s.seq, r.machine, l.labels, s.start_ms, s.window_ms, sh.cores, s.cpu_busy_us, s.mem_used_bytes,
  sh.mem_total_bytes, s.ingest_lag_ms, s.adjusted_in
  FROM samples s JOIN runs r ON r.id = s.run JOIN shapes sh ON sh.id = s.shape JOIN label_sets l ON l.id = sh.label_set`;

export const ALL_USAGE: UsageFilter = { adjustedFrom: 0, adjustedTo: Number.MAX_SAFE_INTEGER };

export class PgUsageReads {
  private readonly labelsById = new Map<number, Record<string, string>>();

  /** Label sets by id, read for the ids not seen yet. */
  private async labels(client: pg.ClientBase, ids: Iterable<number>): Promise<(id: number) => Record<string, string>> {
    const missing = [...new Set(ids)].filter((id) => !this.labelsById.has(id));
    if (missing.length) {
      const r = await client.query<{ id: bigint; labels: string }>('SELECT id, labels FROM label_sets WHERE id = ANY($1::bigint[])', [missing]);
      for (const row of r.rows) this.labelsById.set(Number(row.id), JSON.parse(row.labels) as Record<string, string>);
    }
    return (id) => this.labelsById.get(id) ?? {};
  }

  async usage(client: pg.ClientBase, from: number, to: number, filter: UsageFilter = ALL_USAGE): Promise<UsageRow[]> {
    const parts = splitRange(from, to);
    const sums = new UsageSums();
    const { adjustedFrom: lo, adjustedTo: hi } = filter;
    for (const [table, at, ranges] of [
      ['usage_monthly', 'month_ms', parts.months],
      ['usage_hourly', 'hour_ms', parts.hours],
    ] as const) {
      for (const [a, b] of ranges) {
        const r = await client.query<Summed>(
          `SELECT machine, label_set, ${USAGE_SUMS} FROM ${table} WHERE ${at} >= $1 AND ${at} < $2 AND adjusted_in >= $3 AND adjusted_in < $4
           GROUP BY machine, label_set`,
          [a, b, lo, hi],
        );
        for (const row of r.rows) sums.add(row.machine, Number(row.label_set), Number(row.samples), row.cpu, (row.gib << 30n) + row.rem, Number(row.covered));
      }
    }
    for (const [a, b] of parts.raw) {
      const r = await client.query<{ machine: string; label_set: bigint; samples: bigint; cpu: bigint; mem: bigint; covered: bigint }>(
        `SELECT r.machine, sh.label_set, COUNT(*)::bigint AS samples, SUM(s.cpu_busy_us) AS cpu,
                SUM(s.mem_used_bytes::numeric * s.window_ms) AS mem, SUM(s.window_ms) AS covered
         FROM samples s JOIN runs r ON r.id = s.run JOIN shapes sh ON sh.id = s.shape
         WHERE s.start_ms >= $1 AND s.start_ms < $2 AND s.adjusted_in >= $3 AND s.adjusted_in < $4 GROUP BY r.machine, sh.label_set`,
        [a, b, lo, hi],
      );
      for (const row of r.rows) sums.add(row.machine, Number(row.label_set), Number(row.samples), row.cpu, row.mem, Number(row.covered));
    }
    const list = sums.list();
    const labels = await this.labels(client, list.map((s) => s.labelSet));
    return list.map((row) => ({ ...row, labels: labels(row.labelSet) }));
  }

  async hourlyUsage(client: pg.ClientBase, from: number, to: number, filter: UsageFilter = ALL_USAGE): Promise<HourlyUsageRow[]> {
    const start = Math.floor(from / HOUR_MS) * HOUR_MS;
    const r = await client.query<Summed & { hour_ms: bigint }>(
      `SELECT hour_ms, machine, label_set, ${USAGE_SUMS} FROM usage_hourly WHERE hour_ms >= $1 AND hour_ms < $2 AND adjusted_in >= $3 AND adjusted_in < $4
       GROUP BY hour_ms, machine, label_set ORDER BY hour_ms, machine COLLATE "C", label_set`,
      [start, to, filter.adjustedFrom, filter.adjustedTo],
    );
    const labels = await this.labels(client, r.rows.map((row) => Number(row.label_set)));
    return r.rows.map((row) => ({
      hour: Number(row.hour_ms),
      machine: row.machine,
      labelSet: Number(row.label_set),
      labels: labels(Number(row.label_set)),
      samples: Number(row.samples),
      cpuBusyUs: row.cpu,
      memByteMs: (row.gib << 30n) + row.rem,
      coveredMs: Number(row.covered),
    }));
  }

  async rawSamples(client: pg.ClientBase, from: number, to: number, machines?: readonly string[]): Promise<RawSample[]> {
    const r = machines
      ? await client.query<RawRow>(
          `SELECT ${RAW_COLUMNS} WHERE r.machine = ANY($3::text[]) AND s.start_ms >= $1 AND s.start_ms < $2
           ORDER BY r.machine COLLATE "C", s.start_ms, s.run, s.seq`,
          [from, to, [...machines]],
        )
      : await client.query<RawRow>(`SELECT ${RAW_COLUMNS} WHERE s.start_ms >= $1 AND s.start_ms < $2 ORDER BY r.machine COLLATE "C", s.start_ms, s.run, s.seq`, [from, to]);
    return r.rows.map((row) => rawSample({ ...row, whole: BigInt(row.whole) }));
  }
}
