// Retention: a ledger that stays small. Raw samples are kept while they can still matter, then
// pruned in small batches; the hourly and monthly rollups and the closed invoices stay for good, so
// `meter invoice` and `meter invoice verify` keep working, and `meter invoice explain` says when raw
// detail is gone.
//
// A raw sample may go once both hold:
// - its period is closed (the closed invoice no longer needs it, and a late repeat of it is billed
//   as an adjustment from the rollups' point of view, never twice: see below);
// - it starts before the prune horizon: the latest Kafka message timestamp the ledger has seen,
//   minus the acceptance window (35 days back by default), minus a day's margin for timestamps that
//   are not monotonic across producers, and minus any longer raw retention asked for (--keep-raw).
// A sample starting before the horizon is refused as too late by the worker anyway (against its own
// message's timestamp), and the ledger records the horizon before deleting anything: a sample that
// starts before it is refused even if its message's timestamp is recent, since its id may be gone.
import { DAY_MS } from './dates.js';
import { DEFAULT_ACCEPTANCE_WINDOW, pruneHorizon, type AcceptanceWindow } from './acceptance.js';
import type { Ledger } from '../ledger/index.js';

export interface RetentionOptions {
  window?: AcceptanceWindow;
  /** Keep raw samples at least this long (behind the latest message timestamp). */
  keepRawMs?: number;
  /** Margin for non-monotonic timestamps. */
  marginMs?: number;
  /** Samples deleted per transaction: short transactions never hold up the worker for long. */
  batch?: number;
  /** Stop after this many batches (the worker's background pruning does a little at a time). */
  maxBatches?: number;
}

export interface PruneResult {
  deleted: number;
  /** Raw samples starting before this are gone (null: nothing may be pruned yet). */
  before: number | null;
  /** Why nothing (more) could be pruned, when that is the case. */
  reason?: string;
}

export const DEFAULT_PRUNE_BATCH = 5000;

/** Where raw samples may be pruned up to now: the earlier of the horizon and the end of the latest closed period. */
export async function pruneLimit(ledger: Pick<Ledger, 'pruneState' | 'closedInvoices'>, options: RetentionOptions = {}): Promise<{ before: number | null; reason?: string }> {
  const state = await ledger.pruneState();
  const latest = (await ledger.closedInvoices()).at(-1);
  if (!latest) return { before: null, reason: 'no period is closed yet (meter invoice close --period YYYY-MM)' };
  if (state.latestTimestamp === 0) return { before: null, reason: 'no message timestamp seen yet' };
  const closedUntil = new Date(latest.periodStart).setUTCMonth(new Date(latest.periodStart).getUTCMonth() + 1);
  const horizon = Math.min(
    pruneHorizon(state.latestTimestamp, options.window ?? DEFAULT_ACCEPTANCE_WINDOW, options.marginMs ?? DAY_MS),
    state.latestTimestamp - (options.keepRawMs ?? 0),
  );
  const before = Math.max(state.prunedBefore, Math.min(closedUntil, horizon));
  return before > 0 ? { before } : { before: null, reason: 'the acceptance window still covers every closed period' };
}

/** Prunes raw samples up to the limit, `batch` at a time. */
export async function pruneLedger(ledger: Pick<Ledger, 'pruneState' | 'closedInvoices' | 'prune'>, options: RetentionOptions = {}): Promise<PruneResult> {
  const { before, reason } = await pruneLimit(ledger, options);
  if (before === null) return { deleted: 0, before, reason };
  const batch = options.batch ?? DEFAULT_PRUNE_BATCH;
  let deleted = 0;
  for (let i = 0; i < (options.maxBatches ?? Infinity); i++) {
    const n = await ledger.prune(before, batch);
    deleted += n;
    if (n < batch) break;
  }
  return { deleted, before };
}
