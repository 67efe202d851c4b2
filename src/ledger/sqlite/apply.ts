// One Kafka batch into the SQLite ledger, in one IMMEDIATE transaction (several workers on one host
// share the file: one writer at a time, the others wait on the busy timeout). Synchronous: it runs on
// the worker's ledger thread.
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { adjustedInFor, batchMaxTimestamp, checkBatchStart, checkPruneHorizon, rejectsByCode } from '../batch-rules.js';
import { SampleConflictError, type ApplyResult, type LedgerBatch } from '../ledger.js';
import { RollupBuilder, type MachineSeen, type Rollups, type UsageBucket } from '../rollup.js';
import { ROW_FIELDS, idOf } from '../rows.js';
import { nextMonth } from '../time-buckets.js';
import { SqliteInterner, type RunRef, type ShapeRef } from './interner.js';
import { ROLLUP_CHUNK, SAMPLE_CHUNK, type ReadStatements, type WriteStatements } from './statements.js';

type Stored = { shape: number; start_ms: number; window_ms: number; cpu_busy_us: number; mem_used_bytes: number };

/** Runs `one` per row, or `chunk` per ROLLUP_CHUNK rows, over rows flattened into `args` by `push`. */
function upsertChunked<T>(rows: readonly T[], chunk: Statement, one: Statement, push: (args: unknown[], row: T) => void): void {
  let k = 0;
  for (; k + ROLLUP_CHUNK <= rows.length; k += ROLLUP_CHUNK) {
    const args: unknown[] = [];
    for (let j = k; j < k + ROLLUP_CHUNK; j++) push(args, rows[j]!);
    chunk.run(args);
  }
  for (; k < rows.length; k++) {
    const args: unknown[] = [];
    push(args, rows[k]!);
    one.run(args);
  }
}

const pushUsage = (args: unknown[], g: UsageBucket) => args.push(g.at, g.machine, g.labelSet, g.adjustedIn, g.samples, g.cpuBusyUs, g.memGibMs, g.memRemByteMs, g.coveredMs);
const pushMachine = (args: unknown[], m: MachineSeen) => args.push(m.machine, m.labelSet, m.firstSeen, m.lastSeen, m.samples);

/** Writes a batch's rollups: one upsert per hour, month and machine bucket, ROLLUP_CHUNK to a statement. */
export function writeRollups(w: WriteStatements, { hourly, monthly, machines }: Rollups): void {
  upsertChunked(hourly, w.upsertHourlyChunk, w.upsertHourly, pushUsage);
  upsertChunked(monthly, w.upsertMonthlyChunk, w.upsertMonthly, pushUsage);
  upsertChunked(machines, w.upsertMachineChunk, w.upsertMachine, pushMachine);
}

/** A machine's last run and shape: consecutive samples of a machine almost always share both. */
interface MachineIds {
  prefix: string;
  whole: number;
  run: RunRef;
  labels: string;
  cores: number;
  memTotalBytes: number;
  shape: ShapeRef;
}

export class SqliteBatchApplier {
  private readonly interner: SqliteInterner;
  private readonly lastIds = new Map<string, MachineIds>();
  private readonly transaction: Database.Transaction<(batch: LedgerBatch) => ApplyResult>;
  /** The chunked insert's parameters, reused batch after batch. */
  private readonly chunkArgs: number[] = new Array<number>(SAMPLE_CHUNK * 9).fill(0);

  constructor(
    db: Database.Database,
    private readonly r: ReadStatements,
    private readonly w: WriteStatements,
  ) {
    this.interner = new SqliteInterner(db);
    this.transaction = db.transaction((batch: LedgerBatch) => this.applyInTransaction(batch));
  }

  apply(batch: LedgerBatch): ApplyResult {
    try {
      return this.transaction.immediate(batch);
    } catch (error) {
      // Ids interned by the rolled-back transaction may be given to other values later.
      this.interner.forget();
      this.lastIds.clear();
      throw error;
    }
  }

  private applyInTransaction(batch: LedgerBatch): ApplyResult {
    const { r, w, interner } = this;
    const now = batch.now ?? Date.now();
    const known = (r.getOffset.get(batch.group, batch.topic, batch.partition) as { next_offset: number } | undefined)?.next_offset;
    const { current, lost } = checkBatchStart(batch, known);
    const prunedBefore = Number((r.meta.get('pruned_before') as { value: string } | undefined)?.value ?? 0);
    checkPruneHorizon(batch, current, prunedBefore);
    const latestClosed = (r.latestClosed.get() as { period_ms: number | null }).period_ms;
    const firstOpen = latestClosed === null ? 0 : nextMonth(latestClosed);
    if (lost) w.addCounter.run('lost', lost);
    let skipped = 0;
    const conflicts: SampleConflictError['conflicts'] = [];
    // First every row's run and shape (interning new ones), then the inserts: interned rows stay when
    // the chunked inserts are rolled back to their savepoint.
    const todo = new SampleInserts();
    const { runs, machines, labels, values: v } = batch.samples;
    for (let i = 0, b = 0; i < runs.length; i++, b += ROW_FIELDS) {
      const offset = v[b]!;
      if (offset < current) {
        skipped++;
        continue;
      }
      const machine = machines[i]!;
      let ids = this.lastIds.get(machine);
      if (!ids || ids.prefix !== runs[i] || ids.whole !== v[b + 8] || ids.labels !== labels[i] || ids.cores !== v[b + 3] || ids.memTotalBytes !== v[b + 6]) {
        const run = interner.run(runs[i]!, v[b + 8]!, machine);
        ids = { prefix: runs[i]!, whole: v[b + 8]!, run, labels: labels[i]!, cores: v[b + 3]!, memTotalBytes: v[b + 6]!, shape: interner.shape(labels[i]!, v[b + 3]!, v[b + 6]!) };
        if (this.lastIds.size > 100_000) this.lastIds.clear();
        this.lastIds.set(machine, ids);
      }
      const { run, shape } = ids;
      if (run.machine !== machine) {
        conflicts.push({ offset, id: idOf(runs[i]!, v[b + 7]!, v[b + 8]!), reason: `its id belongs to machine ${JSON.stringify(run.machine)}'s samples` });
        continue;
      }
      todo.add(i, run.id, shape.id, shape.labelSet, adjustedInFor(v[b + 1]!, latestClosed, firstOpen));
    }
    const rollup = new RollupBuilder();
    // (With conflicts found already, one by one: every conflict of the batch is reported at once.)
    const { inserted, duplicates } = (conflicts.length === 0 ? this.insertChunked(batch, todo, now, rollup) : undefined) ?? this.insertOneByOne(batch, todo, now, rollup, conflicts);
    // Nothing is applied: the pipeline sends these to the DLQ, then applies the batch without them.
    if (conflicts.length > 0) throw new SampleConflictError(batch.partition, conflicts.sort((a, b) => a.offset - b.offset));
    writeRollups(w, rollup.build());
    const rejects = rejectsByCode(batch, current);
    skipped += rejects.skipped;
    for (const [code, c] of rejects.byCode) w.upsertDlq.run(batch.topic, code, c.count, c.reason, now);
    if (inserted) w.addCounter.run('samples', inserted);
    if (duplicates) w.addCounter.run('duplicates', duplicates);
    if (rejects.rejected) w.addCounter.run('dlq', rejects.rejected);
    const nextOffset = Math.max(current, batch.lastOffset + 1);
    w.upsertOffset.run(batch.group, batch.topic, batch.partition, nextOffset, now, batchMaxTimestamp(batch));
    return { inserted, duplicates, skipped, rejected: rejects.rejected, nextOffset, prunedBefore };
  }

  /**
   * Inserts the rows SAMPLE_CHUNK to a statement, the usual case: none of them is in the ledger yet.
   * When a statement inserts fewer rows than it carries (a batch read again after a crash or a
   * rebalance), its inserts are rolled back and undefined is returned: insertOneByOne() then tells
   * duplicates from conflicts row by row.
   */
  private insertChunked(batch: LedgerBatch, todo: SampleInserts, now: number, rollup: RollupBuilder): { inserted: number; duplicates: number } | undefined {
    const { w } = this;
    const v = batch.samples.values;
    const args: number[] = this.chunkArgs;
    w.savepointSamples.run();
    let k = 0;
    for (; k + SAMPLE_CHUNK <= todo.length; k += SAMPLE_CHUNK) {
      for (let j = 0; j < SAMPLE_CHUNK; j++) pushSampleRow(args, j * 9, todo, k + j, v, now);
      if (w.insertSampleChunk.run(args).changes !== SAMPLE_CHUNK) return this.rollBackChunks();
    }
    for (; k < todo.length; k++) {
      pushSampleRow(args, 0, todo, k, v, now);
      if (w.insertSample.run(args.slice(0, 9)).changes !== 1) return this.rollBackChunks();
    }
    w.releaseSamples.run();
    for (let t = 0; t < todo.length; t++) rollup.add(batch.samples, todo.rows[t]!, todo.labelSets[t]!, todo.adjustedIn[t]!);
    return { inserted: todo.length, duplicates: 0 };
  }

  private rollBackChunks(): undefined {
    this.w.rollbackSamples.run();
    this.w.releaseSamples.run();
    return undefined;
  }

  /** Inserts the rows one at a time: a row already there is a duplicate when its body is the same, else a conflict. */
  private insertOneByOne(batch: LedgerBatch, todo: SampleInserts, now: number, rollup: RollupBuilder, conflicts: SampleConflictError['conflicts']): { inserted: number; duplicates: number } {
    const { r, w } = this;
    const { runs, values: v } = batch.samples;
    const args: number[] = [];
    let inserted = 0;
    let duplicates = 0;
    for (let t = 0; t < todo.length; t++) {
      const i = todo.rows[t]!;
      const b = i * ROW_FIELDS;
      pushSampleRow(args, 0, todo, t, v, now);
      if (w.insertSample.run(args).changes === 0) {
        const stored = r.storedSample.get(todo.runIds[t], v[b + 7]) as Stored;
        const shape = todo.shapeIds[t];
        const start = v[b + 1]!;
        const end = v[b + 2]!;
        if (stored.shape !== shape || stored.start_ms !== start || stored.window_ms !== end - start || stored.cpu_busy_us !== v[b + 4] || stored.mem_used_bytes !== v[b + 5]) {
          conflicts.push({ offset: v[b]!, id: idOf(runs[i]!, v[b + 7]!, v[b + 8]!), reason: 'its id is already billed with another body' });
        } else {
          duplicates++;
        }
        continue;
      }
      inserted++;
      rollup.add(batch.samples, i, todo.labelSets[t]!, todo.adjustedIn[t]!);
    }
    return { inserted, duplicates };
  }
}

/** The rows of a batch to insert, with their interned ids: parallel arrays. */
class SampleInserts {
  readonly rows: number[] = [];
  readonly runIds: number[] = [];
  readonly shapeIds: number[] = [];
  readonly labelSets: number[] = [];
  readonly adjustedIn: number[] = [];

  get length(): number {
    return this.rows.length;
  }

  add(row: number, runId: number, shapeId: number, labelSet: number, adjustedIn: number): void {
    this.rows.push(row);
    this.runIds.push(runId);
    this.shapeIds.push(shapeId);
    this.labelSets.push(labelSet);
    this.adjustedIn.push(adjustedIn);
  }
}

/** Writes insert t's nine samples columns into args from `at`, in insertSample's order. */
function pushSampleRow(args: number[], at: number, todo: SampleInserts, t: number, v: readonly number[], now: number): void {
  const b = todo.rows[t]! * ROW_FIELDS;
  const start = v[b + 1]!;
  const end = v[b + 2]!;
  args[at] = todo.runIds[t]!;
  args[at + 1] = v[b + 7]!;
  args[at + 2] = todo.shapeIds[t]!;
  args[at + 3] = start;
  args[at + 4] = end - start;
  args[at + 5] = v[b + 4]!;
  args[at + 6] = v[b + 5]!;
  args[at + 7] = now - end;
  args[at + 8] = todo.adjustedIn[t]!;
}
