// Writing a batch's usage rollups to PostgreSQL: one upsert of unnest() arrays per table.
import type pg from 'pg';
import type { RollupBuilder, UsageBucket } from '../rollup.js';

const upsertUsage = (table: 'usage_hourly' | 'usage_monthly', at: 'hour_ms' | 'month_ms') =>
  `INSERT INTO ${table} (${at}, machine, label_set, adjusted_in, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms, covered_ms)
   SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
   ON CONFLICT (${at}, machine, label_set, adjusted_in) DO UPDATE SET samples = ${table}.samples + excluded.samples,
     cpu_busy_us = ${table}.cpu_busy_us + excluded.cpu_busy_us, mem_gib_ms = ${table}.mem_gib_ms + excluded.mem_gib_ms,
     mem_rem_byte_ms = ${table}.mem_rem_byte_ms + excluded.mem_rem_byte_ms, covered_ms = ${table}.covered_ms + excluded.covered_ms`;
export const UPSERT_HOURLY = upsertUsage('usage_hourly', 'hour_ms');
export const UPSERT_MONTHLY = upsertUsage('usage_monthly', 'month_ms');

export const UPSERT_MACHINES = `INSERT INTO machines (machine, label_set, first_seen_ms, last_seen_ms, samples)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
  ON CONFLICT (machine) DO UPDATE SET
    label_set = CASE WHEN excluded.last_seen_ms >= machines.last_seen_ms THEN excluded.label_set ELSE machines.label_set END,
    first_seen_ms = LEAST(machines.first_seen_ms, excluded.first_seen_ms),
    last_seen_ms = GREATEST(machines.last_seen_ms, excluded.last_seen_ms),
    samples = machines.samples + excluded.samples`;

/**
 * An integer array parameter as PostgreSQL's array literal, `{1,2,3}`: integers need no quoting, and
 * pg's per-element encoding of JS arrays was a large share of the worker's CPU on this path.
 */
export const intArray = (xs: readonly (number | bigint)[]): string => `{${xs.join(',')}}`;

export const bucketColumns = (buckets: UsageBucket[]) => [
  intArray(buckets.map((g) => g.at)),
  buckets.map((g) => g.machine),
  intArray(buckets.map((g) => g.labelSet)),
  intArray(buckets.map((g) => g.adjustedIn)),
  intArray(buckets.map((g) => g.samples)),
  intArray(buckets.map((g) => g.cpuBusyUs)),
  intArray(buckets.map((g) => g.memGibMs)),
  intArray(buckets.map((g) => g.memRemByteMs)),
  intArray(buckets.map((g) => g.coveredMs)),
];

/** Writes a batch's rollups (hour, month and machine buckets). */
export async function writeRollups(client: pg.ClientBase, rollup: RollupBuilder): Promise<void> {
  const { hourly, monthly, machines: seen } = rollup.build();
  if (hourly.length) await client.query(UPSERT_HOURLY, bucketColumns(hourly));
  if (monthly.length) await client.query(UPSERT_MONTHLY, bucketColumns(monthly));
  if (seen.length) {
    await client.query(UPSERT_MACHINES, [
      seen.map((m) => m.machine),
      intArray(seen.map((m) => m.labelSet)),
      intArray(seen.map((m) => m.firstSeen)),
      intArray(seen.map((m) => m.lastSeen)),
      intArray(seen.map((m) => m.samples)),
    ]);
  }
}

