// The ledger's public surface: the worker writes through it, the console and `meter invoice` read.
export {
  Ledger,
  openLedger,
  LedgerGapError,
  ROW_FIELDS,
  emptyRows,
  pushRow,
  rowAt,
  canonicalLabels,
  splitRange,
  hourOf,
  monthOf,
  nextMonth,
  HOUR_MS,
  type OpenLedgerOptions,
  type LedgerBatch,
  type LedgerSample,
  type SampleRows,
  type LedgerReject,
  type ApplyResult,
  type OffsetRow,
  type MachineRow,
  type UsageRow,
  type RangeParts,
} from './ledger.js';
export { LEDGER_SCHEMA_VERSION, MIGRATIONS } from './schema.js';
export { alertWasSent, recordAlertSent, type SentAlert } from './budget-alerts.js';
