// The ledger's running counts as invoices and the console show them: what was billed, seen again,
// sent to the DLQ (by reason), and never billed (lost to retention, skipped by a reset).
import type { Ledger } from '../ledger/index.js';

export interface LedgerStats {
  /** Distinct samples in the ledger. */
  samples: number;
  /** Samples seen again (duplicates, replays) and ignored. */
  duplicates: number;
  /** Messages deleted by Kafka's retention before the worker could read them (never billed). */
  lost: number;
  /** Offsets passed over by `meter ledger offsets --reset-to-log end` (never billed). */
  skipped: number;
  dlq: { total: number; byReason: Record<string, number> };
  offsets: { group: string; topic: string; partition: number; nextOffset: number }[];
}

export async function ledgerStats(ledger: Ledger): Promise<LedgerStats> {
  const byReason: Record<string, number> = {};
  let total = 0;
  const counts = await ledger.counts();
  for (const row of await ledger.dlqCounts()) {
    byReason[row.reason] = (byReason[row.reason] ?? 0) + row.count;
    total += row.count;
  }
  return {
    samples: counts.samples,
    duplicates: counts.duplicates,
    lost: counts.lost,
    skipped: counts.skipped,
    dlq: { total, byReason },
    offsets: await ledger.offsets(),
  };
}
