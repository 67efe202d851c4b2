// The PostgreSQL ledger's history reads (the console's detail view and sparklines), the same as the
// SQLite ones (../sqlite/history.ts): one machine's sample windows, its hourly rollups, what its
// windows cover (computed in the database, from the samples_by_run_start index), and the fleet's latest
// samples in one query. Each function runs on a client the engine lends it.
import type pg from 'pg';
import type { MachineHourUsage, MachineSample, TimeSpan } from '../ledger.js';
import { MACHINE_SAMPLES_FROM, SAMPLE_COLUMNS, islandsSql, machineSamplesSql, spansFromIslands, windowBeforeSql, type IslandRow } from '../history-spans.js';
import { HOUR_MS } from '../time-buckets.js';

type SampleRow = { machine?: string; start_ms: bigint; end_ms: bigint; cores: bigint; cpu_busy_us: bigint; mem_used_bytes: bigint; mem_total_bytes: bigint };

// BIGINT comes back as BigInt (connect.ts); these values are far inside 2^53.
const toSample = (r: SampleRow): MachineSample => ({
  start: Number(r.start_ms),
  end: Number(r.end_ms),
  cores: Number(r.cores),
  cpuBusyUs: Number(r.cpu_busy_us),
  memUsedBytes: Number(r.mem_used_bytes),
  memTotalBytes: Number(r.mem_total_bytes),
});

export async function machineSamples(client: pg.ClientBase, machine: string, from: number, to: number): Promise<MachineSample[]> {
  const r = await client.query<SampleRow>(
    machineSamplesSql((n) => `$${n}`),
    [machine, from, to],
  );
  return r.rows.map(toSample);
}

export async function recentSamples(client: pg.ClientBase, machines: readonly string[], since: number, points: number): Promise<Map<string, MachineSample[]>> {
  const out = new Map<string, MachineSample[]>();
  if (machines.length === 0 || points <= 0) return out;
  const r = await client.query<Required<SampleRow>>(
    `SELECT * FROM (
       SELECT r.machine, ${SAMPLE_COLUMNS}, ROW_NUMBER() OVER (PARTITION BY r.machine ORDER BY s.start_ms DESC) AS n
       FROM ${MACHINE_SAMPLES_FROM} WHERE r.machine = ANY($1::text[]) AND s.start_ms >= $2
     ) t WHERE n <= $3 ORDER BY machine, start_ms`,
    [machines, since, points],
  );
  for (const row of r.rows) {
    let list = out.get(row.machine);
    if (!list) out.set(row.machine, (list = []));
    list.push(toSample(row));
  }
  return out;
}

export async function machineHourlyUsage(client: pg.ClientBase, machine: string, from: number, to: number): Promise<MachineHourUsage[]> {
  const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
  if (first >= to) return [];
  // One index probe per hour (the rollup's key starts with the hour), not a scan of every machine's hours.
  const r = await client.query<{ hour_ms: bigint; labels: string; samples: bigint; cpu_busy_us: bigint; mem_gib_ms: bigint; mem_rem_byte_ms: bigint }>(
    `SELECT u.hour_ms, l.labels, SUM(u.samples)::bigint AS samples, SUM(u.cpu_busy_us)::bigint AS cpu_busy_us,
            SUM(u.mem_gib_ms)::bigint AS mem_gib_ms, SUM(u.mem_rem_byte_ms)::bigint AS mem_rem_byte_ms
     FROM generate_series($1::bigint, $2::bigint - 1, ${HOUR_MS}) AS h(hour_ms)
     JOIN usage_hourly u ON u.hour_ms = h.hour_ms AND u.machine = $3
     JOIN label_sets l ON l.id = u.label_set
     GROUP BY u.hour_ms, u.label_set, l.labels ORDER BY u.hour_ms, u.label_set`,
    [first, to, machine],
  );
  return r.rows.map((row) => ({
    hour: Number(row.hour_ms),
    labels: JSON.parse(row.labels) as Record<string, string>,
    samples: Number(row.samples),
    cpuBusyUs: row.cpu_busy_us,
    memByteMs: (row.mem_gib_ms << 30n) + row.mem_rem_byte_ms,
  }));
}

/** Runs in the caller's REPEATABLE READ transaction, so both reads see one snapshot. */
export async function machineCoverage(client: pg.ClientBase, machine: string, from: number, to: number): Promise<TimeSpan[]> {
  if (!(to > from)) return [];
  const islands = await client.query<{ start_ms: bigint; prev_end: bigint | null; run_end: bigint; last: boolean }>(
    islandsSql((n) => `$${n}`),
    [machine, from, to],
  );
  const before = await client.query<{ start_ms: bigint; end_ms: bigint }>(
    windowBeforeSql((n) => `$${n}`),
    [machine, from],
  );
  const rows = islands.rows.map(
    (r): IslandRow => ({ start: Number(r.start_ms), prevEnd: r.prev_end === null ? null : Number(r.prev_end), runEnd: Number(r.run_end), last: r.last }),
  );
  const b = before.rows[0];
  return spansFromIslands(rows, b && { start: Number(b.start_ms), end: Number(b.end_ms) }, from, to);
}
