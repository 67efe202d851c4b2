// What a running worker knows about itself: the counts its batches add up to, its lag and its rate.
// The status line, the JSON progress log and --metrics (worker-metrics.ts) all read it, so they never
// disagree. Plain fields, so a worker without --metrics never loads the metrics library.
import type { ApplyResult } from '../ledger/index.js';
import { LagTracker, type PartitionLag } from './lag.js';
import { RateMeter } from './rate-meter.js';

/** One committed batch, as the batch pipeline reports it. */
export interface AppliedBatch {
  partition: number;
  result: ApplyResult;
  /** The codes of the batch's invalid messages that the ledger counted (those at or past its offset). */
  dlqCodes: readonly string[];
  /** How long the transaction took, when the writer measured it. */
  seconds?: number;
}

/** What the status line and the progress log show. */
export interface WorkerSnapshot {
  samplesPerSecond: number;
  /** Topic end minus ledger next offset, summed over the partitions held. */
  lag: number;
  partitions: PartitionLag[];
  stoppedPartitions: number[];
  inserted: number;
  duplicates: number;
  dlq: number;
  batches: number;
}

export class WorkerStats {
  /** New samples written to the ledger since start. */
  inserted = 0;
  /** Samples the ledger already had (duplicates, replays). */
  duplicates = 0;
  /** Invalid messages the ledger counted (each also on the DLQ). */
  dlq = 0;
  readonly dlqByReason = new Map<string, number>();
  /** Committed batch transactions. */
  batches = 0;
  /** Batch transactions that failed (retried from the ledger's offset). */
  ledgerErrors = 0;
  /** Batches the ledger refused because one before them was not applied (read again from its offset). */
  batchesRefused = 0;
  /** Assignments received from the group (the first one included). */
  rebalances = 0;
  /** Consumers rebuilt after kafkajs gave up on one. */
  consumerRestarts = 0;
  /** Epoch ms of the last committed batch, 0 before the first. */
  lastBatchMs = 0;
  /** Whether the last read of the topic's offsets succeeded. */
  brokerAnswering = false;
  readonly lag = new LagTracker();
  /** Partitions stopped by the log-behind guard (set by the worker to its partition recovery's view). */
  stoppedPartitions: () => ReadonlyMap<number, string> = () => new Map();
  /** Called with each transaction's duration in seconds, once metrics are on. */
  observeTransaction: ((seconds: number) => void) | undefined;
  private readonly rate: RateMeter;

  /**
   * @param now the clock of the rate: monotonic (performance.now), so a wall-clock step neither
   *   stretches nor folds its window; tests pass their own.
   */
  constructor(
    private readonly now: () => number = () => performance.now(),
    rateWindowMs?: number,
  ) {
    this.rate = new RateMeter(rateWindowMs);
    this.rate.observe(0, this.now());
  }

  batchApplied({ partition, result, dlqCodes, seconds }: AppliedBatch): void {
    this.inserted += result.inserted;
    this.duplicates += result.duplicates;
    this.dlq += result.rejected;
    for (const code of dlqCodes) this.dlqByReason.set(code, (this.dlqByReason.get(code) ?? 0) + 1);
    this.batches++;
    this.lastBatchMs = Date.now();
    this.lag.ledgerApplied(partition, result.nextOffset);
    this.rate.observe(this.inserted + this.duplicates, this.now());
    if (seconds !== undefined) this.observeTransaction?.(seconds);
  }

  assigned(partitions: number[]): void {
    this.rebalances++;
    this.lag.assign(partitions);
  }

  samplesPerSecond(now = this.now()): number {
    return this.rate.rate(now);
  }

  snapshot(now = this.now()): WorkerSnapshot {
    return {
      samplesPerSecond: this.samplesPerSecond(now),
      lag: this.lag.total(),
      partitions: this.lag.all(),
      stoppedPartitions: [...this.stoppedPartitions().keys()].sort((a, b) => a - b),
      inserted: this.inserted,
      duplicates: this.duplicates,
      dlq: this.dlq,
      batches: this.batches,
    };
  }
}

/**
 * The DLQ codes of a batch's invalid messages that the ledger counted: it skips messages below its
 * offset, which are the batch's lowest, so the ones counted are the `rejected` highest-offset ones.
 */
export function countedDlqCodes(rejects: readonly { offset: number; code: string }[], rejected: number): string[] {
  if (rejected <= 0) return [];
  if (rejected >= rejects.length) return rejects.map((r) => r.code);
  return [...rejects]
    .sort((a, b) => b.offset - a.offset)
    .slice(0, rejected)
    .map((r) => r.code);
}
