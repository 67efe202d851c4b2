// One Kafka batch into the PostgreSQL ledger, in one transaction. The partition's offset row is
// locked first (SELECT ... FOR UPDATE), so a zombie member and its successor applying the same
// partition serialise, and the second sees what the first committed.
//
// Samples go in by COPY into a temporary staging table, then one INSERT ... SELECT ... ON CONFLICT DO
// NOTHING RETURNING into samples (COPY alone cannot skip duplicate ids). test/bench/worker.ts measured
// COPY at about 2.7x a multi-row INSERT of unnest() arrays for the same rows, most of that being pg's
// array parameter encoding. The rollups, a few rows per machine, go in as unnest() arrays.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BATCH_STATEMENT_TIMEOUT_MS } from './connect.js';
import { checkBatchStart, firstOffsetOf, rejectsByCode } from '../batch-rules.js';
import type { ApplyResult, LedgerBatch } from '../ledger.js';
import { RollupBuilder, type UsageBucket } from '../rollup.js';
import { ROW_FIELDS } from '../rows.js';

const SAMPLE_COLUMNS = `id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us, mem_used_bytes, mem_total_bytes, src_partition,
  src_offset, rate_card, cpu_micros, mem_micros`;
/** Per session; emptied at every commit (and by a rollback). */
// statement_timeout: a worker cut off the network in the middle of a COPY leaves its server session
// waiting for data, "active" rather than idle in transaction, and holding its partition's offset row;
// no statement of a batch takes nearly this long otherwise, and a batch that fails is read again.
const BEGIN_BATCH = `BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL statement_timeout = ${BATCH_STATEMENT_TIMEOUT_MS}`;
const CREATE_STAGING = 'CREATE TEMP TABLE IF NOT EXISTS staging_samples (LIKE samples) ON COMMIT DELETE ROWS';
const COPY_STAGING = `COPY staging_samples (${SAMPLE_COLUMNS}) FROM STDIN`;
// Not ON CONFLICT: its speculative insertion per row took twice as long. A sample already in the
// ledger is left out by NOT EXISTS, probing the primary key row by row (BEGIN_BATCH turns off hash
// and merge joins, which would read the whole samples table for every batch: the staging table has
// no statistics); the same id inserted at that moment by another partition's transaction fails this
// one on the unique key, and the batch is applied again (then it is a duplicate).
const INSERT_SAMPLES = `INSERT INTO samples (${SAMPLE_COLUMNS}) SELECT ${SAMPLE_COLUMNS} FROM staging_samples s
  WHERE NOT EXISTS (SELECT 1 FROM samples x WHERE x.id = s.id) RETURNING src_offset`;

/** A text value for COPY's text format: backslash, tab, newline and carriage return escaped. */
const copyText = (value: string): string => (/[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : value);

const upsertUsage = (table: 'usage_hourly' | 'usage_monthly', at: 'hour_ms' | 'month_ms') =>
  `INSERT INTO ${table} (${at}, machine, label_set, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms)
   SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[])
   ON CONFLICT (${at}, machine, label_set) DO UPDATE SET samples = ${table}.samples + excluded.samples,
     cpu_busy_us = ${table}.cpu_busy_us + excluded.cpu_busy_us, mem_gib_ms = ${table}.mem_gib_ms + excluded.mem_gib_ms,
     mem_rem_byte_ms = ${table}.mem_rem_byte_ms + excluded.mem_rem_byte_ms`;
const UPSERT_HOURLY = upsertUsage('usage_hourly', 'hour_ms');
const UPSERT_MONTHLY = upsertUsage('usage_monthly', 'month_ms');

const UPSERT_MACHINES = `INSERT INTO machines (machine, label_set, first_seen_ms, last_seen_ms, samples)
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[])
  ON CONFLICT (machine) DO UPDATE SET
    label_set = CASE WHEN excluded.last_seen_ms >= machines.last_seen_ms THEN excluded.label_set ELSE machines.label_set END,
    first_seen_ms = LEAST(machines.first_seen_ms, excluded.first_seen_ms),
    last_seen_ms = GREATEST(machines.last_seen_ms, excluded.last_seen_ms),
    samples = machines.samples + excluded.samples`;

const LOCK_OFFSET = 'SELECT next_offset FROM offsets WHERE grp = $1 AND topic = $2 AND partition = $3 FOR UPDATE';
const CLAIM_OFFSET = `INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT DO NOTHING`;

const bucketColumns = (buckets: UsageBucket[]) => [
  buckets.map((g) => g.at),
  buckets.map((g) => g.machine),
  buckets.map((g) => g.labelSet),
  buckets.map((g) => g.samples),
  buckets.map((g) => g.cpuBusyUs),
  buckets.map((g) => g.memGibMs),
  buckets.map((g) => g.memRemByteMs),
];

export class PgBatchApplier {
  /** Label set ids by canonical JSON, of committed transactions only. */
  private readonly labelIds = new Map<string, number>();
  /** Sessions that have their staging table. */
  private readonly staged = new WeakSet<pg.PoolClient>();

  /** Interns the batch's label sets this connection has not seen, inside the transaction. */
  private async labelSets(client: pg.PoolClient, labels: string[], pending: Map<string, number>): Promise<void> {
    const missing = [...new Set(labels.filter((l) => !this.labelIds.has(l)))].sort();
    if (missing.length === 0) return;
    await client.query('INSERT INTO label_sets (labels) SELECT unnest($1::text[]) ON CONFLICT (labels) DO NOTHING', [missing]);
    const r = await client.query<{ id: bigint; labels: string }>('SELECT id, labels FROM label_sets WHERE labels = ANY($1::text[])', [missing]);
    for (const row of r.rows) pending.set(row.labels, Number(row.id));
  }

  async apply(client: pg.PoolClient, batch: LedgerBatch): Promise<ApplyResult> {
    const now = batch.now ?? Date.now();
    const key = [batch.group, batch.topic, batch.partition];
    const pending = new Map<string, number>();
    // The staging table is created inside the transaction: it exists for this session only once that commits.
    let createdStaging = false;
    await client.query(BEGIN_BATCH);
    try {
      let locked = await client.query<{ next_offset: bigint }>(LOCK_OFFSET, key);
      if (locked.rows.length === 0) {
        // Never claimed (a direct call, not the worker): start it where this batch starts, then lock it.
        await client.query(CLAIM_OFFSET, [...key, firstOffsetOf(batch), now]);
        locked = await client.query<{ next_offset: bigint }>(LOCK_OFFSET, key);
      }
      const known = Number(locked.rows[0]!.next_offset);
      const { current, lost } = checkBatchStart(batch, known);

      const { ids, machines, labels, values: v } = batch.samples;
      await this.labelSets(client, labels, pending);
      const labelOf = (l: string) => this.labelIds.get(l) ?? pending.get(l)!;
      const lines: string[] = [];
      const rowOfOffset = new Map<number, number>();
      const inBatch = new Set<string>();
      let skipped = 0;
      let duplicatesInBatch = 0;
      const tail = `${batch.partition}\t`;
      for (let i = 0, b = 0; i < ids.length; i++, b += ROW_FIELDS) {
        const offset = v[b]!;
        if (offset < current) {
          skipped++;
          continue;
        }
        // The same sample twice in one batch: the first is the one, the rest are duplicates.
        if (inBatch.has(ids[i]!)) {
          duplicatesInBatch++;
          continue;
        }
        inBatch.add(ids[i]!);
        rowOfOffset.set(offset, i);
        lines.push(
          `${copyText(ids[i]!)}\t${copyText(machines[i]!)}\t${labelOf(labels[i]!)}\t${v[b + 1]}\t${v[b + 2]}\t${v[b + 3]}\t${v[b + 4]}\t${v[b + 5]}\t${v[b + 6]}\t${tail}${offset}\t${batch.rateCardId}\t${v[b + 7]}\t${v[b + 8]}\n`,
        );
      }
      const rollup = new RollupBuilder();
      let inserted = 0;
      if (rowOfOffset.size > 0) {
        if (!this.staged.has(client)) {
          await client.query(CREATE_STAGING);
          createdStaging = true;
        }
        await pipeline(Readable.from([lines.join('')]), client.query(copyFrom(COPY_STAGING)));
        const r = await client.query<{ src_offset: bigint }>(INSERT_SAMPLES);
        inserted = r.rows.length;
        const insertedRows = r.rows.map((row) => rowOfOffset.get(Number(row.src_offset))!).sort((a, b) => a - b);
        for (const i of insertedRows) rollup.add(batch.samples, i, labelOf(labels[i]!));
      }
      const duplicates = rowOfOffset.size - inserted + duplicatesInBatch;
      const { hourly, monthly, machines: seen } = rollup.build();
      if (hourly.length) await client.query(UPSERT_HOURLY, bucketColumns(hourly));
      if (monthly.length) await client.query(UPSERT_MONTHLY, bucketColumns(monthly));
      if (seen.length) {
        await client.query(UPSERT_MACHINES, [
          seen.map((m) => m.machine),
          seen.map((m) => m.labelSet),
          seen.map((m) => m.firstSeen),
          seen.map((m) => m.lastSeen),
          seen.map((m) => m.samples),
        ]);
      }
      const rejects = rejectsByCode(batch, current);
      skipped += rejects.skipped;
      for (const [code, c] of rejects.byCode) {
        await client.query(
          `INSERT INTO dlq_counts (topic, reason, count, last_detail, last_ms) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (topic, reason) DO UPDATE SET count = dlq_counts.count + excluded.count, last_detail = excluded.last_detail, last_ms = excluded.last_ms`,
          [batch.topic, code, c.count, c.reason, now],
        );
      }
      const nextOffset = Math.max(current, batch.lastOffset + 1);
      await client.query(
        `UPDATE offsets SET next_offset = GREATEST(next_offset, $4), updated_ms = $5, samples = samples + $6,
           duplicates = duplicates + $7, dlq = dlq + $8, lost = lost + $9
         WHERE grp = $1 AND topic = $2 AND partition = $3`,
        [...key, nextOffset, now, inserted, duplicates, rejects.rejected, lost],
      );
      await client.query('COMMIT');
      if (createdStaging) this.staged.add(client);
      for (const [labelsJson, id] of pending) this.labelIds.set(labelsJson, id);
      return { inserted, duplicates, skipped, rejected: rejects.rejected, nextOffset };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
}
