// The ledger behind one interface: the billing worker's only state, and what the console, `meter
// invoice` and `meter budgets` read. Two engines implement it: SQLite (one file, the embedded default
// for one host) and PostgreSQL (processor hosts anywhere). Nothing outside src/ledger knows which.
//
// Every method is async, because PostgreSQL is. Read models: usage (by range, by hour, raw samples),
// price versions, closed invoices and the prune horizon, on both engines alike.
import type { LedgerReject, SampleRows } from './rows.js';

export type LedgerEngine = 'sqlite' | 'postgres';

/** Who a ledger is: a random id stored in it at creation, and a name people recognise. */
export interface LedgerIdentity {
  /** Random, made when the ledger was created; the same for every connection to it. */
  id: string;
  /** The file path and host (SQLite), or the PostgreSQL URL without any secret. */
  name: string;
}

/** Everything one Kafka batch changes, applied in one transaction. */
export interface LedgerBatch {
  group: string;
  topic: string;
  partition: number;
  /**
   * The offset the batch was fetched from. It must not be past the ledger's next offset: a batch that
   * would leave a gap (one before it failed) is refused with LedgerGapError, so nothing is skipped.
   * Defaults to the batch's lowest offset.
   */
  fetchedOffset?: number;
  /**
   * The offsets between the ledger's next offset and fetchedOffset no longer exist in Kafka (deleted by
   * retention before they were read): accept the gap, and count them in the "lost" counter.
   */
  retentionGap?: boolean;
  /**
   * The partition's end offset when the batch was fetched. Below the ledger's next offset, the log is
   * behind the ledger (topic re-created, broker wiped): refused with LogBehindLedgerError.
   */
  highWatermark?: number;
  /** The batch's last offset: the ledger's next offset becomes lastOffset + 1. */
  lastOffset: number;
  samples: SampleRows;
  rejects: LedgerReject[];
  /**
   * The prune horizon the batch was prepared with (the preparer refused samples starting before it). If
   * the ledger has pruned further since, and a sample of the batch starts before the ledger's horizon,
   * the batch is refused with PruneHorizonError: its id may have been pruned, so it could be billed twice.
   */
  prunedBefore?: number;
  /** The latest Kafka message timestamp in the batch: how far event time has come (the prune horizon). */
  maxTimestamp?: number;
  /** When the batch is ingested (the ledger's clock for ingestion times). */
  now?: number;
}

export interface ApplyResult {
  /** New samples written. */
  inserted: number;
  /** Samples whose id was already in the ledger (duplicates, replays). */
  duplicates: number;
  /** Messages below the ledger's offset: already applied by an earlier batch. */
  skipped: number;
  /** Invalid messages counted. */
  rejected: number;
  nextOffset: number;
  /** The ledger's prune horizon as of this batch: prepare the next ones with it. */
  prunedBefore: number;
}

export interface OffsetRow {
  group: string;
  topic: string;
  partition: number;
  nextOffset: number;
}

/** One use of the recovery command, kept in the ledger. */
export interface OffsetReset {
  group: string;
  topic: string;
  partition: number;
  fromOffset: number;
  toOffset: number;
  /** Offsets passed over by the reset, never billed (0 when it moved back). */
  skipped: number;
  reason: string;
  at: number;
}

export interface MachineRow {
  machine: string;
  labels: Record<string, string>;
  firstSeen: number;
  lastSeen: number;
  samples: number;
}

/** Usage of one machine under one label set over a time range, in exact integer units. */
export interface UsageRow {
  machine: string;
  labelSet: number;
  labels: Record<string, string>;
  samples: number;
  cpuBusyUs: bigint;
  memByteMs: bigint;
  /** Sum of the samples' window lengths, ms: the time they cover (an agent's windows never overlap). */
  coveredMs: number;
}

/** Usage of one machine under one label set in one hour (from the hourly rollups). */
export interface HourlyUsageRow extends UsageRow {
  hour: number;
}

/**
 * Which rows a usage read sums, by the period whose invoice bills them (`adjusted_in`): 0 for a
 * sample billed in its own period, else the start of the later period on whose invoice it is an
 * adjustment (it arrived after its own period was closed). [from, to) on that value; all by default.
 */
export interface UsageFilter {
  adjustedFrom: number;
  adjustedTo: number;
}

/** Samples billed in their own period: what a closed invoice is made of. */
export const OWN_USAGE: Readonly<UsageFilter> = Object.freeze({ adjustedFrom: 0, adjustedTo: 1 });

/** One raw sample, as `meter invoice explain` shows it. */
export interface RawSample {
  id: string;
  machine: string;
  labels: Record<string, string>;
  start: number;
  end: number;
  cores: number;
  cpuBusyUs: bigint;
  memUsedBytes: number;
  memTotalBytes: number;
  /** When the ledger ingested it. */
  ingestedAt: number;
  /** 0, or the period start whose invoice bills it as an adjustment. */
  adjustedIn: number;
}

/** A price version as stored: its document (src/billing/price-versions.ts) and the budgets that came with it. */
export interface StoredPriceVersion {
  effectiveFrom: number;
  digest: string;
  /** JSON of a PriceVersionDocument. */
  document: string;
  /** JSON of the card's budgets list, or null. */
  budgets: string | null;
  addedAt: number;
}

/** A closed invoice as stored: never changed once written. */
export interface ClosedInvoiceRecord {
  /** YYYY-MM */
  period: string;
  periodStart: number;
  number: number;
  closedAt: number;
  digest: string;
  /** The invoice JSON, exactly as closed. */
  document: string;
}

/**
 * What a close was computed from; closePeriod() refuses (StaleCloseError) unless the ledger still
 * says the same inside its transaction, so an invoice is never stored over data it did not see.
 */
export interface CloseFingerprint {
  /** Samples billed on the period's invoice: its own, and the adjustments of earlier periods on it. */
  samples: number;
  versions: number;
  closed: number;
  /** Start of the latest closed period, or null. */
  latestClosed: number | null;
}

export interface PruneState {
  /** Raw samples starting before this were pruned (0: none). */
  prunedBefore: number;
  /** The latest Kafka message timestamp the ledger has seen (0: none). */
  latestTimestamp: number;
  /** Raw samples held. */
  rawSamples: number;
}

export interface DlqCount {
  topic: string;
  reason: string;
  count: number;
  lastDetail: string;
}

/** The ledger's running counts. */
export interface LedgerCounts {
  /** Distinct samples. */
  samples: number;
  /** Samples seen again (duplicates, replays) and ignored. */
  duplicates: number;
  /** Invalid messages counted (and sent to the DLQ). */
  dlq: number;
  /** Offsets deleted by Kafka's retention before they were read: never billed. */
  lost: number;
  /** Offsets passed over by `meter ledger offsets --reset-to-log end`: never billed. */
  skipped: number;
}

/** A span of time, [start, end) in epoch ms. */
export interface TimeSpan {
  start: number;
  end: number;
}

/** One sample window of a machine, as the ledger holds it (exact units). */
export interface MachineSample {
  start: number;
  end: number;
  cores: number;
  /** CPU busy time across all cores, microseconds. */
  cpuBusyUs: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

/** A machine's usage in one UTC hour under one label set: its hourly rollup. */
export interface MachineHourUsage {
  /** The hour's start, epoch ms (a sample belongs to the hour its window starts in). */
  hour: number;
  labels: Record<string, string>;
  samples: number;
  cpuBusyUs: bigint;
  memByteMs: bigint;
}

export interface SentAlert {
  budget: string;
  period: string;
  threshold: number;
}

export interface Ledger {
  readonly engine: LedgerEngine;
  readonly identity: LedgerIdentity;
  readonly readonly: boolean;
  close(): Promise<void>;

  /** The next offset to apply for a partition, or undefined when the ledger has none. */
  nextOffset(group: string, topic: string, partition: number): Promise<number | undefined>;
  offsets(): Promise<OffsetRow[]>;
  /**
   * Records where a partition starts when the group first assigns it, so its first batch is held to
   * the same rule as every other (a failed first transaction is never stepped over). Returns the
   * ledger's next offset: `startOffset` if the ledger had none, else the one it had.
   */
  claimPartition(group: string, topic: string, partition: number, startOffset: number, now?: number): Promise<number>;
  /** Moves a partition's next offset (the recovery command), recording it and counting what it skips. */
  resetOffset(reset: Omit<OffsetReset, 'skipped' | 'fromOffset'> & { skipped?: number }): Promise<OffsetReset>;
  offsetResets(): Promise<OffsetReset[]>;

  /**
   * Applies one Kafka batch in one transaction: new samples, the usage rollups of the samples actually
   * inserted, DLQ counts, and the partition's next offset. Messages below the ledger's offset are
   * skipped, checked inside the transaction, so a batch delivered twice is applied once; one that
   * starts past it is refused (LedgerGapError). A sample whose id is stored with another body is
   * refused with SampleConflictError (nothing applied), so it can go to the DLQ first.
   * A sample whose period is closed is billed as an adjustment on the first open period.
   */
  applyBatch(batch: LedgerBatch): Promise<ApplyResult>;

  counts(): Promise<LedgerCounts>;
  dlqCounts(): Promise<DlqCount[]>;
  machines(): Promise<MachineRow[]>;
  /** Usage per machine and label set of the samples whose window starts in [from, to), exactly, read consistently. */
  usage(from: number, to: number, filter?: UsageFilter): Promise<UsageRow[]>;
  /** Usage per hour, machine and label set over whole hours [hourOf(from), to), from the hourly rollups. */
  hourlyUsage(from: number, to: number, filter?: UsageFilter): Promise<HourlyUsageRow[]>;
  /** Starts of the periods that have samples billed as adjustments on the period starting at `adjustedIn`. */
  adjustedPeriods(adjustedIn: number): Promise<number[]>;
  /** The raw samples starting in [from, to) of these machines (all when omitted), by machine and start. */
  rawSamples(from: number, to: number, machines?: readonly string[]): Promise<RawSample[]>;

  /** Every price version, by effective time. */
  priceVersions(): Promise<StoredPriceVersion[]>;
  /**
   * Stores a price version, inside a transaction that first gives `check` every stored version and the
   * end of the latest closed period (it throws to refuse). Returns false when this exact version is
   * stored already.
   */
  addPriceVersion(
    version: Omit<StoredPriceVersion, 'addedAt'>,
    check: (stored: StoredPriceVersion[], closedUntil: number | null) => void,
    now?: number,
  ): Promise<boolean>;

  closedInvoices(): Promise<ClosedInvoiceRecord[]>;
  closeFingerprint(periodStart: number): Promise<CloseFingerprint>;
  /** Stores a closed invoice if the ledger still matches `expected` (else StaleCloseError). */
  closePeriod(record: ClosedInvoiceRecord, periodEnd: number, expected: CloseFingerprint): Promise<void>;

  pruneState(): Promise<PruneState>;
  /**
   * Deletes up to `limit` raw samples that start before `before` (which must not pass the end of the
   * latest closed period), after raising the prune horizon to `before` in the same transaction.
   * Returns how many it deleted. The hourly rollups and closed invoices stay.
   */
  prune(before: number, limit: number): Promise<number>;

  // A machine's history (the console's detail view and sparklines). Reads of one machine use the
  // samples' (machine, start, end) index; see sqlite/history.ts and postgres/history.ts.
  /** One machine's sample windows that start in [from, to), oldest first. */
  machineSamples(machine: string, from: number, to: number): Promise<MachineSample[]>;
  /** Each machine's latest `points` sample windows that start at or after `since`, oldest first, in one read. */
  recentSamples(machines: readonly string[], since: number, points: number): Promise<Map<string, MachineSample[]>>;
  /** One machine's hourly usage rollups for the hours starting in [from, to), oldest first. */
  machineHourlyUsage(machine: string, from: number, to: number): Promise<MachineHourUsage[]>;
  /**
   * The union of one machine's sample windows, clipped to [from, to), as disjoint spans in time order
   * (what the windows cover; the gaps are what is left). Computed in the database: a month of
   * samples never leaves it, only the covered stretches.
   */
  machineCoverage(machine: string, from: number, to: number): Promise<TimeSpan[]>;

  alertWasSent(alert: SentAlert): Promise<boolean>;
  recordAlertSent(alert: SentAlert, at: number): Promise<void>;
}

/**
 * PostgreSQL: the worker's default for how long the server may send nothing while a call waits on
 * it. A live session always answers sooner: each statement of a batch ends within the statement timeout (15 s)
 * or the lock timeout (30 s). A connection the server dropped while the worker's host was cut off
 * (the server's goodbye lost in the cut) is never heard from again: TCP on this side has nothing to
 * send and waits for its keepalive, two hours by default.
 */
export const ANSWER_TIMEOUT_MS = 45_000;

/** A batch that starts past the ledger's offset for its partition: applying it would lose messages. */
export class LedgerGapError extends Error {
  override readonly name = 'LedgerGapError';
  constructor(
    readonly partition: number,
    readonly fetchedOffset: number,
    readonly nextOffset: number,
  ) {
    super(`batch of partition ${partition} starts at offset ${fetchedOffset}, past the ledger's next offset ${nextOffset}`);
  }
}

/** The partition's log ends below the ledger's next offset: the topic was re-created, or the broker wiped. */
export class LogBehindLedgerError extends Error {
  override readonly name = 'LogBehindLedgerError';
  constructor(
    readonly partition: number,
    readonly logEnd: number,
    readonly nextOffset: number,
  ) {
    super(
      `partition ${partition}'s log ends at offset ${logEnd}, behind the ledger's next offset ${nextOffset}: the topic was re-created or the broker's data lost`,
    );
  }
}

/** Samples of a batch whose ids are stored with another body (or whose id's run is another machine's). */
export class SampleConflictError extends Error {
  override readonly name = 'SampleConflictError';
  constructor(
    readonly partition: number,
    readonly conflicts: { offset: number; id: string; reason: string }[],
  ) {
    super(`batch of partition ${partition} has ${conflicts.length} sample(s) whose id is already billed with another body`);
  }
}

/** The ledger pruned raw samples past what the batch was prepared with: prepare it again. */
export class PruneHorizonError extends Error {
  override readonly name = 'PruneHorizonError';
  constructor(
    readonly partition: number,
    readonly prunedBefore: number,
  ) {
    super(`raw samples before ${new Date(prunedBefore).toISOString()} were pruned after partition ${partition}'s batch was prepared`);
  }
}

/** The ledger changed between computing a closed invoice and storing it: compute it again. */
export class StaleCloseError extends Error {
  override readonly name = 'StaleCloseError';
}
