// One Kafka batch into the SQLite ledger, in one IMMEDIATE transaction (several workers on one host
// share the file: one writer at a time, the others wait on the busy timeout). Synchronous: it runs on
// the worker's ledger thread.
import type Database from 'better-sqlite3';
import { checkBatchStart, rejectsByCode } from '../batch-rules.js';
import type { ApplyResult, LedgerBatch } from '../ledger.js';
import { RollupBuilder } from '../rollup.js';
import { ROW_FIELDS } from '../rows.js';
import type { ReadStatements, WriteStatements } from './statements.js';

export class SqliteBatchApplier {
  /** Label set ids by canonical JSON; only ids of committed transactions. */
  private readonly labelIds = new Map<string, number>();
  private pendingLabels?: Map<string, number>;
  private readonly transaction: Database.Transaction<(batch: LedgerBatch) => ApplyResult>;

  constructor(
    db: Database.Database,
    private readonly r: ReadStatements,
    private readonly w: WriteStatements,
  ) {
    this.transaction = db.transaction((batch: LedgerBatch) => this.applyInTransaction(batch));
  }

  apply(batch: LedgerBatch): ApplyResult {
    const pending = new Map<string, number>();
    this.pendingLabels = pending;
    try {
      const result = this.transaction.immediate(batch);
      for (const [labels, id] of pending) this.labelIds.set(labels, id);
      return result;
    } finally {
      this.pendingLabels = undefined;
    }
  }

  private labelSetId(labels: string): number {
    const known = this.labelIds.get(labels) ?? this.pendingLabels?.get(labels);
    if (known !== undefined) return known;
    this.w.insertLabels.run(labels);
    const id = (this.r.labelId.get(labels) as { id: number }).id;
    // Only cached once the transaction commits: a rolled-back id may be reused for other labels.
    this.pendingLabels?.set(labels, id);
    return id;
  }

  private applyInTransaction(batch: LedgerBatch): ApplyResult {
    const w = this.w;
    const now = batch.now ?? Date.now();
    const known = (this.r.getOffset.get(batch.group, batch.topic, batch.partition) as { next_offset: number } | undefined)?.next_offset;
    const { current, lost } = checkBatchStart(batch, known);
    if (lost) w.addCounter.run('lost', lost);
    let inserted = 0;
    let duplicates = 0;
    let skipped = 0;
    const rollup = new RollupBuilder();
    const insertSample = w.insertSample;
    const { partition, rateCardId } = batch;
    const { ids, machines, labels, values: v } = batch.samples;
    for (let i = 0, b = 0; i < ids.length; i++, b += ROW_FIELDS) {
      const offset = v[b]!;
      if (offset < current) {
        skipped++;
        continue;
      }
      const labelSet = this.labelSetId(labels[i]!);
      const info = insertSample.run(
        ids[i]!,
        machines[i]!,
        labelSet,
        v[b + 1]!,
        v[b + 2]!,
        v[b + 3]!,
        v[b + 4]!,
        v[b + 5]!,
        v[b + 6]!,
        partition,
        offset,
        rateCardId,
        v[b + 7]!,
        v[b + 8]!,
      );
      if (info.changes === 0) {
        duplicates++;
        continue;
      }
      inserted++;
      rollup.add(batch.samples, i, labelSet);
    }
    const { hourly, monthly, machines: seen } = rollup.build();
    for (const g of hourly) w.upsertHourly.run(g.at, g.machine, g.labelSet, g.samples, g.cpuBusyUs, g.memGibMs, g.memRemByteMs);
    for (const g of monthly) w.upsertMonthly.run(g.at, g.machine, g.labelSet, g.samples, g.cpuBusyUs, g.memGibMs, g.memRemByteMs);
    for (const m of seen) w.upsertMachine.run(m.machine, m.labelSet, m.firstSeen, m.lastSeen, m.samples);
    const rejects = rejectsByCode(batch, current);
    skipped += rejects.skipped;
    for (const [code, c] of rejects.byCode) w.upsertDlq.run(batch.topic, code, c.count, c.reason, now);
    if (inserted) w.addCounter.run('samples', inserted);
    if (duplicates) w.addCounter.run('duplicates', duplicates);
    if (rejects.rejected) w.addCounter.run('dlq', rejects.rejected);
    const nextOffset = Math.max(current, batch.lastOffset + 1);
    w.upsertOffset.run(batch.group, batch.topic, batch.partition, nextOffset, now);
    return { inserted, duplicates, skipped, rejected: rejects.rejected, nextOffset };
  }
}
