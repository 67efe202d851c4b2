// The ledger's public surface: one interface, two engines. The worker writes through it; invoice,
// budgets and the console read through it, and none of them knows which engine is behind it.
export {
  LedgerGapError,
  LogBehindLedgerError,
  SampleConflictError,
  PruneHorizonError,
  StaleCloseError,
  OWN_USAGE,
  type Ledger,
  type LedgerEngine,
  type LedgerIdentity,
  type LedgerBatch,
  type ApplyResult,
  type OffsetRow,
  type OffsetReset,
  type MachineRow,
  type UsageRow,
  type HourlyUsageRow,
  type UsageFilter,
  type RawSample,
  type StoredPriceVersion,
  type ClosedInvoiceRecord,
  type CloseFingerprint,
  type PruneState,
  type DlqCount,
  type LedgerCounts,
  type SentAlert,
} from './ledger.js';
export { openLedger, ledgerTarget, type LedgerTarget, type OpenLedgerOptions } from './open-ledger.js';
export { ROW_FIELDS, emptyRows, pushRow, rowAt, splitId, idOf, canonicalLabels, type LedgerSample, type SampleRows, type LedgerReject } from './rows.js';
export { splitRange, hourOf, monthOf, nextMonth, HOUR_MS, type RangeParts } from './time-buckets.js';
