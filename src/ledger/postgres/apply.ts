// One Kafka batch into the PostgreSQL ledger, in one transaction. The partition's offset row is
// locked first (SELECT ... FOR UPDATE), so a zombie member and its successor applying the same
// partition serialise, and the second sees what the first committed. Every batch also holds the
// close lock in share mode: `meter invoice close` takes it exclusively, so no batch is half-way while
// a period closes, and every batch after it sees the period closed.
//
// Samples go straight into the samples table by COPY, inside a savepoint: a duplicate id fails the
// COPY on the unique key, and then the batch's samples go in again by INSERT ... ON CONFLICT DO
// NOTHING RETURNING, which tells the new from the duplicates (whose stored bodies are then compared).
// test/bench/worker.ts measured COPY well ahead of the INSERT of unnest() arrays (pg's array
// encoding), and the staging table of earlier versions wrote every row twice. After a batch with
// duplicates the next batch of that partition goes the INSERT way first (a replay is likely going on).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BATCH_STATEMENT_TIMEOUT_MS } from './connect.js';
import { adjustedInFor, batchMaxTimestamp, checkBatchStart, checkPruneHorizon, firstOffsetOf, rejectsByCode } from '../batch-rules.js';
import { SampleConflictError, type ApplyResult, type LedgerBatch } from '../ledger.js';
import { RollupBuilder } from '../rollup.js';
import { intArray, writeRollups } from './rollups.js';
import { ROW_FIELDS, idOf, type SampleRows } from '../rows.js';
import { nextMonth } from '../time-buckets.js';
import { PgInterner, type InternRow } from './interner.js';
import type { RunRef, ShapeRef } from '../sqlite/interner.js';

/** The advisory lock key of closing a period: batches share it, a close holds it alone. */
export const CLOSE_LOCK = 7_166_300_802;

const SAMPLE_COLUMNS = 'run, seq, shape, start_ms, window_ms, cpu_busy_us, mem_used_bytes, ingest_lag_ms, adjusted_in';
// statement_timeout: a worker cut off the network in the middle of a COPY leaves its server session
// waiting for data, "active" rather than idle in transaction, and holding its partition's offset row;
// no statement of a batch takes nearly this long otherwise, and a batch that fails is read again.
// Hash and merge joins off: the joins with a batch's unnest() arrays must probe the indexes, never
// read a whole table (an array parameter has no statistics to tell the planner how short it is).
const BEGIN_BATCH = `BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL statement_timeout = ${BATCH_STATEMENT_TIMEOUT_MS}; SELECT pg_advisory_xact_lock_shared(${CLOSE_LOCK})`;
const COPY_SAMPLES = `COPY samples (${SAMPLE_COLUMNS}) FROM STDIN`;
const INSERT_SAMPLES = `INSERT INTO samples (${SAMPLE_COLUMNS})
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
  ON CONFLICT (run, seq) DO NOTHING RETURNING run, seq`;
const STORED_SAMPLES = `SELECT s.run, s.seq, s.shape, s.start_ms, s.window_ms, s.cpu_busy_us, s.mem_used_bytes
  FROM samples s JOIN unnest($1::bigint[], $2::bigint[]) AS k(run, seq) USING (run, seq)`;

const LOCK_OFFSET = `SELECT next_offset, (SELECT value FROM ledger_meta WHERE key = 'pruned_before') AS pruned_before,
  (SELECT MAX(period_ms) FROM closed_invoices) AS latest_closed
  FROM offsets WHERE grp = $1 AND topic = $2 AND partition = $3 FOR UPDATE`;
const CLAIM_OFFSET = `INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT DO NOTHING`;

/** One sample as it goes into the samples table, and where it came from in the batch. */
interface Row {
  i: number;
  offset: number;
  values: number[];
  labelSet: number;
}

type StoredRow = { run: bigint; seq: bigint; shape: bigint; start_ms: bigint; window_ms: bigint; cpu_busy_us: bigint; mem_used_bytes: bigint };

/** Rows i and j of a batch name the same run and shape (same run, whole, labels, cores and memory total). */
function sameIds(rows: SampleRows, i: number, j: number): boolean {
  const v = rows.values;
  const a = i * ROW_FIELDS;
  const b = j * ROW_FIELDS;
  return rows.runs[i] === rows.runs[j] && rows.labels[i] === rows.labels[j] && v[a + 8] === v[b + 8] && v[a + 3] === v[b + 3] && v[a + 6] === v[b + 6];
}

/** Same shape, window, CPU and memory: the body of a sample (values 2 to 6). */
const sameValues = (a: number[], b: number[]): boolean => a[2] === b[2] && a[3] === b[3] && a[4] === b[4] && a[5] === b[5] && a[6] === b[6];

const sameBody = (values: number[], s: StoredRow): boolean =>
  sameValues(values, [0, 0, Number(s.shape), Number(s.start_ms), Number(s.window_ms), Number(s.cpu_busy_us), Number(s.mem_used_bytes)]);

/**
 * Finds a row whose id (run, sequence) an earlier row of the batch has. A run's sequences almost
 * always rise through a batch, so only the highest so far is kept per run; the first sequence that
 * does not rise builds an index of every id so far, kept from then on. (A map of every id per row
 * was a visible share of the worker's main thread, which is what limits it with PostgreSQL.)
 */
class RepeatedIds {
  private readonly highest = new Map<number, number>();
  private index?: Map<number, Map<number, Row>>;

  /** The earlier row with `row`'s id, or undefined (then `row` is recorded). `rows` are those recorded so far. */
  firstOf(row: Row, rows: readonly Row[]): Row | undefined {
    const run = row.values[0]!;
    const seq = row.values[1]!;
    const top = this.highest.get(run);
    if (top === undefined || seq > top) {
      this.highest.set(run, seq);
      if (this.index) this.add(row);
      return undefined;
    }
    if (!this.index) {
      this.index = new Map();
      for (const r of rows) this.add(r);
    }
    const first = this.index.get(run)?.get(seq);
    if (!first) this.add(row);
    return first;
  }

  private add(row: Row): void {
    const run = row.values[0]!;
    let ofRun = this.index!.get(run);
    if (!ofRun) this.index!.set(run, (ofRun = new Map()));
    ofRun.set(row.values[1]!, row);
  }
}

export class PgBatchApplier {
  private readonly interner = new PgInterner();
  /** Partitions whose last batch had duplicates: their next one skips the COPY attempt. */
  private readonly replaying = new Set<number>();

  async apply(client: pg.PoolClient, batch: LedgerBatch): Promise<ApplyResult> {
    const now = batch.now ?? Date.now();
    const key = [batch.group, batch.topic, batch.partition];
    const tx = this.interner.begin();
    await client.query(BEGIN_BATCH);
    try {
      type Locked = { next_offset: bigint; pruned_before: string | null; latest_closed: bigint | null };
      let locked = await client.query<Locked>(LOCK_OFFSET, key);
      if (locked.rows.length === 0) {
        // Never claimed (a direct call, not the worker): start it where this batch starts, then lock it.
        await client.query(CLAIM_OFFSET, [...key, firstOffsetOf(batch), now]);
        locked = await client.query<Locked>(LOCK_OFFSET, key);
      }
      const head = locked.rows[0]!;
      const known = Number(head.next_offset);
      const { current, lost } = checkBatchStart(batch, known);
      const prunedBefore = Number(head.pruned_before ?? 0);
      checkPruneHorizon(batch, current, prunedBefore);
      const latestClosed = head.latest_closed === null ? null : Number(head.latest_closed);
      const firstOpen = latestClosed === null ? 0 : nextMonth(latestClosed);

      const { runs, machines, labels, values: v } = batch.samples;
      const fresh: number[] = [];
      let skipped = 0;
      for (let i = 0, b = 0; i < runs.length; i++, b += ROW_FIELDS) {
        if (v[b]! < current) skipped++;
        else fresh.push(i);
      }
      // A machine's consecutive samples almost always share a run and a shape: intern (and look up)
      // each machine's ids once per change, not once per row (string keys per row were the cost).
      const internRows: InternRow[] = [];
      const lastRowOf = new Map<string, number>();
      for (const i of fresh) {
        const last = lastRowOf.get(machines[i]!);
        if (last !== undefined && sameIds(batch.samples, last, i)) continue;
        lastRowOf.set(machines[i]!, i);
        const b = i * ROW_FIELDS;
        internRows.push({ labels: labels[i]!, prefix: runs[i]!, whole: v[b + 8]!, machine: machines[i]!, cores: v[b + 3]!, memTotalBytes: v[b + 6]! });
      }
      await tx.intern(client, internRows);
      const conflicts: SampleConflictError['conflicts'] = [];
      const rows: Row[] = [];
      const sameIdInBatch = new RepeatedIds();
      const idsOf = new Map<string, { i: number; run: RunRef; shape: ShapeRef }>();
      let duplicates = 0;
      for (const i of fresh) {
        const b = i * ROW_FIELDS;
        const offset = v[b]!;
        const machine = machines[i]!;
        let ids = idsOf.get(machine);
        if (!ids || !sameIds(batch.samples, ids.i, i)) {
          ids = { i, run: tx.run(runs[i]!, v[b + 8]!)!, shape: tx.shape(labels[i]!, v[b + 3]!, v[b + 6]!)! };
          idsOf.set(machine, ids);
        }
        const { run, shape } = ids;
        if (run.machine !== machine) {
          conflicts.push({ offset, id: idOf(runs[i]!, v[b + 7]!, v[b + 8]!), reason: `its id belongs to machine ${JSON.stringify(run.machine)}'s samples` });
          continue;
        }
        const start = v[b + 1]!;
        const end = v[b + 2]!;
        const seq = v[b + 7]!;
        const row = { i, offset, values: [run.id, seq, shape.id, start, end - start, v[b + 4]!, v[b + 5]!, now - end, adjustedInFor(start, latestClosed, firstOpen)], labelSet: shape.labelSet };
        // The same id twice in one batch: the first is the one; a second with another body conflicts.
        const first = sameIdInBatch.firstOf(row, rows);
        if (first) {
          if (sameValues(first.values, row.values)) duplicates++;
          else conflicts.push({ offset, id: idOf(runs[i]!, seq, v[b + 8]!), reason: 'its id is already billed with another body' });
          continue;
        }
        rows.push(row);
      }
      const inserted = await this.insertSamples(client, batch.partition, rows, conflicts, batch, runs);
      if (conflicts.length > 0) throw new SampleConflictError(batch.partition, conflicts.sort((a, b) => a.offset - b.offset));
      duplicates += rows.length - inserted.length;
      const rollup = new RollupBuilder();
      // In batch order already: rows are pushed in order, and the new ones are those rows or a filter of them.
      for (const row of inserted) rollup.add(batch.samples, row.i, row.labelSet, row.values[8]!);
      await writeRollups(client, rollup);
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
           duplicates = duplicates + $7, dlq = dlq + $8, lost = lost + $9, max_ts = GREATEST(max_ts, $10)
         WHERE grp = $1 AND topic = $2 AND partition = $3`,
        [...key, nextOffset, now, inserted.length, duplicates, rejects.rejected, lost, batchMaxTimestamp(batch)],
      );
      await client.query('COMMIT');
      tx.commit();
      if (duplicates > 0) this.replaying.add(batch.partition);
      else this.replaying.delete(batch.partition);
      return { inserted: inserted.length, duplicates, skipped, rejected: rejects.rejected, nextOffset, prunedBefore };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }

  /**
   * Inserts the rows and returns those that were new. By COPY when none is stored yet (the usual
   * case); else by INSERT ... ON CONFLICT DO NOTHING, comparing the bodies of the ones already stored.
   */
  private async insertSamples(client: pg.PoolClient, partition: number, rows: Row[], conflicts: SampleConflictError['conflicts'], batch: LedgerBatch, runs: string[]): Promise<Row[]> {
    if (rows.length === 0) return [];
    if (!this.replaying.has(partition)) {
      await client.query('SAVEPOINT copy_samples');
      try {
        const text = rows.map((r) => r.values.join('\t')).join('\n') + '\n';
        await pipeline(Readable.from([text]), client.query(copyFrom(COPY_SAMPLES)));
        await client.query('RELEASE SAVEPOINT copy_samples');
        return rows;
      } catch (error) {
        if ((error as { code?: string }).code !== '23505') throw error;
        await client.query('ROLLBACK TO SAVEPOINT copy_samples');
      }
    }
    const columns = Array.from({ length: 9 }, (_, c) => intArray(rows.map((r) => r.values[c]!)));
    const result = await client.query<{ run: bigint; seq: bigint }>(INSERT_SAMPLES, columns);
    const insertedKeys = new Set(result.rows.map((r) => `${r.run}:${r.seq}`));
    const inserted = rows.filter((r) => insertedKeys.has(`${r.values[0]}:${r.values[1]}`));
    const dups = rows.filter((r) => !insertedKeys.has(`${r.values[0]}:${r.values[1]}`));
    if (dups.length) {
      const stored = await client.query<StoredRow>(STORED_SAMPLES, [intArray(dups.map((r) => r.values[0]!)), intArray(dups.map((r) => r.values[1]!))]);
      const byKey = new Map(stored.rows.map((s) => [`${s.run}:${s.seq}`, s]));
      for (const r of dups) {
        const s = byKey.get(`${r.values[0]}:${r.values[1]}`);
        if (s && !sameBody(r.values, s)) {
          const b = r.i * ROW_FIELDS;
          conflicts.push({ offset: r.offset, id: idOf(runs[r.i]!, batch.samples.values[b + 7]!, batch.samples.values[b + 8]!), reason: 'its id is already billed with another body' });
        }
      }
    }
    return inserted;
  }
}
