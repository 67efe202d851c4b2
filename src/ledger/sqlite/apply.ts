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
import { ROLLUP_CHUNK, type ReadStatements, type WriteStatements } from './statements.js';

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
    let inserted = 0;
    let duplicates = 0;
    let skipped = 0;
    const conflicts: SampleConflictError['conflicts'] = [];
    const rollup = new RollupBuilder();
    const insertSample = w.insertSample;
    const { runs, machines, labels, values: v } = batch.samples;
    for (let i = 0, b = 0; i < runs.length; i++, b += ROW_FIELDS) {
      const offset = v[b]!;
      if (offset < current) {
        skipped++;
        continue;
      }
      const machine = machines[i]!;
      const start = v[b + 1]!;
      const end = v[b + 2]!;
      const seq = v[b + 7]!;
      let ids = this.lastIds.get(machine);
      if (!ids || ids.prefix !== runs[i] || ids.whole !== v[b + 8] || ids.labels !== labels[i] || ids.cores !== v[b + 3] || ids.memTotalBytes !== v[b + 6]) {
        const run = interner.run(runs[i]!, v[b + 8]!, machine);
        ids = { prefix: runs[i]!, whole: v[b + 8]!, run, labels: labels[i]!, cores: v[b + 3]!, memTotalBytes: v[b + 6]!, shape: interner.shape(labels[i]!, v[b + 3]!, v[b + 6]!) };
        if (this.lastIds.size > 100_000) this.lastIds.clear();
        this.lastIds.set(machine, ids);
      }
      const { run, shape } = ids;
      if (run.machine !== machine) {
        conflicts.push({ offset, id: idOf(runs[i]!, seq, v[b + 8]!), reason: `its id belongs to machine ${JSON.stringify(run.machine)}'s samples` });
        continue;
      }
      const adjustedIn = adjustedInFor(start, latestClosed, firstOpen);
      const info = insertSample.run(run.id, seq, shape.id, start, end - start, v[b + 4]!, v[b + 5]!, now - end, adjustedIn);
      if (info.changes === 0) {
        const stored = r.storedSample.get(run.id, seq) as Stored;
        if (stored.shape !== shape.id || stored.start_ms !== start || stored.window_ms !== end - start || stored.cpu_busy_us !== v[b + 4] || stored.mem_used_bytes !== v[b + 5]) {
          conflicts.push({ offset, id: idOf(runs[i]!, seq, v[b + 8]!), reason: 'its id is already billed with another body' });
        } else {
          duplicates++;
        }
        continue;
      }
      inserted++;
      rollup.add(batch.samples, i, shape.labelSet, adjustedIn);
    }
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
}
