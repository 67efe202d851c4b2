// The offset rules every engine applies inside its batch transaction, with the partition's offset row
// read (and, on PostgreSQL, locked) first: the ledger's offsets are the truth.
import { ROW_FIELDS } from './rows.js';
import { LedgerGapError, LogBehindLedgerError, PruneHorizonError, type LedgerBatch } from './ledger.js';

export interface BatchStart {
  /** Messages below this offset were applied already: skip them. */
  current: number;
  /** Offsets deleted by retention that this batch steps over (counted as lost). */
  lost: number;
}

/** The batch's first offset: fetchedOffset, else its lowest message offset. */
export function firstOffsetOf(batch: LedgerBatch): number {
  if (batch.fetchedOffset !== undefined) return batch.fetchedOffset;
  let first = batch.lastOffset;
  const v = batch.samples.values;
  for (let b = 0; b < v.length; b += ROW_FIELDS) if (v[b]! < first) first = v[b]!;
  for (const r of batch.rejects) if (r.offset < first) first = r.offset;
  return first;
}

/**
 * Where a batch starts against the ledger's next offset `known` (undefined: the ledger has never seen
 * the partition). Throws LogBehindLedgerError when the log ends below the ledger, and LedgerGapError
 * when the batch starts past it without a retention gap to explain it.
 */
export function checkBatchStart(batch: LedgerBatch, known: number | undefined): BatchStart {
  if (known === undefined) return { current: 0, lost: 0 };
  if (batch.highWatermark !== undefined && batch.highWatermark < known) {
    throw new LogBehindLedgerError(batch.partition, batch.highWatermark, known);
  }
  const first = firstOffsetOf(batch);
  if (first > known) {
    if (!batch.retentionGap) throw new LedgerGapError(batch.partition, first, known);
    return { current: known, lost: first - known };
  }
  return { current: known, lost: 0 };
}

/** Counts the batch's rejects at or above `current`, by code, with the latest reason of each. */
export function rejectsByCode(batch: LedgerBatch, current: number): { rejected: number; skipped: number; byCode: Map<string, { count: number; reason: string }> } {
  let rejected = 0;
  let skipped = 0;
  const byCode = new Map<string, { count: number; reason: string }>();
  for (const reject of batch.rejects) {
    if (reject.offset < current) {
      skipped++;
      continue;
    }
    rejected++;
    const c = byCode.get(reject.code);
    if (c) {
      c.count++;
      c.reason = reject.reason;
    } else {
      byCode.set(reject.code, { count: 1, reason: reject.reason });
    }
  }
  return { rejected, skipped, byCode: new Map([...byCode].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
}

/**
 * The period whose invoice bills a sample starting at `start`: its own (0) while its period is open,
 * else the first period after the latest closed one, as an adjustment. Periods close in order, so
 * every period up to the latest closed one is closed.
 */
export function adjustedInFor(start: number, latestClosed: number | null, firstOpen: number): number {
  return latestClosed !== null && start < firstOpen ? firstOpen : 0;
}

/**
 * Refuses a batch prepared with an older prune horizon than the ledger's when one of its samples (at
 * or after `current`) starts before the ledger's: its id may be pruned, so a repeat would be billed.
 */
export function checkPruneHorizon(batch: LedgerBatch, current: number, prunedBefore: number): void {
  if (prunedBefore <= (batch.prunedBefore ?? 0)) return;
  const v = batch.samples.values;
  for (let b = 0; b < v.length; b += ROW_FIELDS) {
    if (v[b]! >= current && v[b + 1]! < prunedBefore) throw new PruneHorizonError(batch.partition, prunedBefore);
  }
}

/** The latest message timestamp of a batch, for the offsets row (0 when unknown). */
export const batchMaxTimestamp = (batch: LedgerBatch): number => batch.maxTimestamp ?? 0;
