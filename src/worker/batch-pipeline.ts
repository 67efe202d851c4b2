// The worker's batch pipeline: each kafkajs batch is validated and priced (prepare.ts), its invalid
// messages sent to the DLQ, and the rest queued for the ledger writer, at most maxInFlight at a time,
// while kafkajs fetches on. The ledger decides what is applied: it skips what it has, and refuses a
// batch past its offset (then the partition is read again from the ledger's offset) or a log behind
// it (then the partition stops: partition-recovery.ts). Failed transactions back off and retry.
import { setTimeout as sleep } from 'node:timers/promises';
import { MeterError, errorMessage } from '../cli/errors.js';
import { LedgerGapError, LogBehindLedgerError, PruneHorizonError, SampleConflictError, type ApplyResult } from '../ledger/index.js';
import type { Logger } from '../log/logger.js';
import { dlqTopicFor } from './dlq.js';
import type { LedgerWriter, TimedApplyResult } from './ledger-writer.js';
import type { OffsetCommitter } from './offset-committer.js';
import type { LogOffsets, PartitionRecovery } from './partition-recovery.js';
import type { BatchPreparer, ForcedReject, IncomingMessage, Rejected } from './prepare.js';
import { countedDlqCodes, type WorkerStats } from './worker-stats.js';

/** What untilStop() answers when the stop came first. */
const STOPPED = Symbol('stopped');

/** What the pipeline needs of a kafkajs eachBatch payload. */
export interface BatchPayload {
  batch: {
    partition: number;
    highWatermark: string;
    messages: IncomingMessage[];
    firstOffset(): string | null;
    lastOffset(): string;
  };
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  isStale(): boolean;
}

export interface BatchPipelineOptions {
  group: string;
  topic: string;
  preparer: Pick<BatchPreparer, 'prepare' | 'prunedBefore'>;
  writer: Pick<LedgerWriter, 'apply'>;
  sendToDlq: (partition: number, rejects: Rejected[]) => Promise<void>;
  committer: Pick<OffsetCommitter, 'ack' | 'flush'>;
  recovery: Pick<PartitionRecovery, 'ready' | 'confirmBehind' | 'retentionGapUpTo' | 'retentionGapFound' | 'retentionGapCrossed'>;
  seek: (partition: number, offset: number) => void;
  ledgerOffset: (partition: number) => Promise<number | undefined>;
  logOffsets: () => Promise<Map<number, LogOffsets>>;
  /** Counts, lag and rate: what the status line, the progress log and --metrics show. */
  stats: WorkerStats;
  logger: Logger;
  /** The worker cannot go on: stop it with this error. */
  fatal: (error: Error) => void;
  /** After each committed batch, with the partition's lag (log end minus the ledger's next offset). */
  onBatch?: (result: ApplyResult & { partition: number; lag: number }) => void;
  /** Batches queued for the writer before the consumer waits. */
  maxInFlight?: number;
  /** Consecutive failed transactions (other than gaps) before the worker gives up. */
  maxConsecutiveFailures?: number;
  /** The first wait before a failed read of the ledger offset is tried again (doubling to 10 s). */
  seekRetryMs?: number;
  now?: () => number;
}

const MAX_IN_FLIGHT = 3;
const MAX_CONSECUTIVE_FAILURES = 10;

export class BatchPipeline {
  private readonly inFlight = new Set<Promise<void>>();
  private active = 0;
  private stopping = false;
  /** Settles when stop() is called (see untilStop). */
  private readonly stopped: Promise<typeof STOPPED>;
  private signalStop!: () => void;
  private consecutiveFailures = 0;
  private readonly retryAfter = new Map<number, number>();
  /** The ledger's next offset per partition, as of the latest result: a hint, the ledger checks. */
  private readonly nextHint = new Map<number, number>();
  private readonly now: () => number;
  /** Per partition, offsets the ledger found conflicting (an id billed with another body): refused when read again. */
  private readonly forced = new Map<number, Map<number, ForcedReject>>();
  /** Partitions with a seek to the ledger under way; true when another was asked for meanwhile. */
  private readonly seeking = new Map<number, boolean>();

  constructor(private readonly options: BatchPipelineOptions) {
    this.now = options.now ?? Date.now;
    this.stopped = new Promise((resolve) => (this.signalStop = () => resolve(STOPPED)));
  }

  /**
   * `work` (a wait on Kafka: a heartbeat, a DLQ send, an admission's offset reads), or STOPPED as soon
   * as stop() is called. A stop drains the batches in hand, and a broker that does not answer held
   * each such wait for a request timeout (30 s) before the stop could say goodbye. What is abandoned
   * leaves the ledger as it was: the batch is read again by whoever owns the partition next.
   */
  private untilStop<T>(work: Promise<T>): Promise<T | typeof STOPPED> {
    work.catch(() => {}); // an abandoned wait that fails later is nobody's error
    return Promise.race([work, this.stopped]);
  }

  /**
   * The partition was admitted at the ledger's next offset (an assignment, or a resume after the
   * recovery command moved it back): the hint starts from there, never from an older result.
   */
  admitted(partition: number, nextOffset: number): void {
    this.nextHint.set(partition, nextOffset);
  }

  /** Stops taking batches: those in hand still reach the ledger. */
  stop(): void {
    this.stopping = true;
    this.signalStop();
  }

  /** Waits for the batches in hand and queued. */
  async drain(): Promise<void> {
    while (this.active > 0 || this.inFlight.size > 0) await Promise.race([sleep(20), ...this.inFlight]);
  }

  readonly eachBatch = async ({ batch, resolveOffset, heartbeat, isStale }: BatchPayload): Promise<void> => {
    const o = this.options;
    this.active++;
    try {
      const partition = batch.partition;
      if ((await this.untilStop(o.recovery.ready(partition))) !== true) return;
      // Backing off after a failed transaction, heartbeating so the group keeps us.
      while (!this.stopping && this.now() < (this.retryAfter.get(partition) ?? 0)) {
        await sleep(Math.min(1000, (this.retryAfter.get(partition) ?? 0) - this.now()));
        await this.untilStop(heartbeat());
      }
      if (this.stopping || isStale()) return;
      const fetchedOffset = Number((batch as { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset());
      const lastOffset = Number(batch.lastOffset());
      const highWatermark = Number(batch.highWatermark);
      const hint = this.nextHint.get(partition);
      if (hint !== undefined && highWatermark < hint) {
        // The log ended before what the ledger has when this was fetched: nothing goes to the DLQ
        // or the ledger. Either the log is behind (the partition stops) or the batch is stale.
        await this.untilStop(this.logBehind(new LogBehindLedgerError(partition, highWatermark, hint)));
        return;
      }
      o.stats.lag.logEndSeen(partition, highWatermark);
      // Everything is prepared: the ledger skips what it has inside its transaction. (Skipping here on
      // a hint could drop messages the ledger no longer has, after the recovery command moved it back.)
      const prepared = o.preparer.prepare(batch.messages, this.forced.get(partition));
      // To the DLQ before the ledger moves past them: a crash in between sends them again.
      // Cut short by a stop, the batch is not applied: the DLQ may get its rejects twice, never lose one.
      if (prepared.rejects.length > 0 && (await this.untilStop(o.sendToDlq(partition, prepared.rejects))) === STOPPED) return;
      const gapUpTo = o.recovery.retentionGapUpTo(partition);
      const retentionGap = gapUpTo !== undefined && fetchedOffset <= gapUpTo;
      if (gapUpTo !== undefined && !retentionGap) o.recovery.retentionGapCrossed(partition);
      const job = o.writer
        .apply({
          group: o.group,
          topic: o.topic,
          partition,
          fetchedOffset,
          lastOffset,
          highWatermark,
          samples: prepared.samples,
          rejects: prepared.rejects,
          prunedBefore: o.preparer.prunedBefore,
          maxTimestamp: prepared.maxTimestamp,
          retentionGap,
          now: this.now(),
        })
        .then(
          (result) => this.applied(partition, result, prepared.rejects),
          (error: unknown) => this.failed(partition, error),
        );
      this.inFlight.add(job);
      void job.then(() => this.inFlight.delete(job));
      // kafkajs may fetch on from here; the ledger decides what is applied, and refuses gaps.
      resolveOffset(batch.lastOffset());
      // A stop does not wait here: kafkajs's own stop waits for this handler to return.
      while (!this.stopping && this.inFlight.size >= (o.maxInFlight ?? MAX_IN_FLIGHT)) {
        await Promise.race([...this.inFlight, sleep(1000)]);
        await this.untilStop(heartbeat());
      }
      await this.untilStop(heartbeat());
    } finally {
      this.active--;
    }
  };

  private applied(partition: number, result: TimedApplyResult, rejects: readonly Rejected[]): void {
    const o = this.options;
    this.consecutiveFailures = 0;
    // Results only move the hint forward: a batch applied before a reset must not move it back up.
    if (result.nextOffset > (this.nextHint.get(partition) ?? -1) || !this.nextHint.has(partition)) this.nextHint.set(partition, result.nextOffset);
    const dlqCodes = countedDlqCodes(rejects, result.rejected);
    o.stats.batchApplied({ partition, result, dlqCodes, seconds: result.seconds });
    if (result.prunedBefore > o.preparer.prunedBefore) o.preparer.prunedBefore = result.prunedBefore;
    const forced = this.forced.get(partition);
    if (forced) {
      for (const offset of forced.keys()) if (offset < result.nextOffset) forced.delete(offset);
      if (forced.size === 0) this.forced.delete(partition);
    }
    if (result.rejected > 0) {
      o.logger.warn('invalid messages sent to the DLQ', { partition, count: result.rejected, reasons: [...new Set(dlqCodes)], dlq: dlqTopicFor(o.topic) });
    }
    o.committer.ack(partition, result.nextOffset);
    void o.committer.flush();
    o.onBatch?.({ ...result, partition, lag: o.stats.lag.lagOf(partition).lag ?? 0 });
  }

  private failed(partition: number, error: unknown): void {
    const o = this.options;
    if (error instanceof LogBehindLedgerError) {
      void this.logBehind(error);
      return;
    }
    if (error instanceof SampleConflictError) {
      // Nothing was applied: read the batch again, with these sent to the DLQ first.
      let forced = this.forced.get(partition);
      if (!forced) this.forced.set(partition, (forced = new Map()));
      for (const c of error.conflicts) forced.set(c.offset, { code: 'id-reused', reason: `sample id ${JSON.stringify(c.id)} seen again: ${c.reason}` });
      o.logger.warn('samples whose id is already billed with another body: to the DLQ', { partition, count: error.conflicts.length, first: error.conflicts[0]?.id });
    } else if (error instanceof PruneHorizonError) {
      if (error.prunedBefore > o.preparer.prunedBefore) o.preparer.prunedBefore = error.prunedBefore;
      o.logger.info('the ledger pruned raw samples since the batch was prepared; preparing it again', { partition });
    } else if (error instanceof LedgerGapError) {
      o.stats.batchesRefused++;
      this.nextHint.set(partition, error.nextOffset);
      o.logger.info('batch refused: one before it was not applied; reading again from the ledger offset', { partition, ledgerOffset: error.nextOffset });
      if (o.recovery.retentionGapUpTo(partition) === undefined) {
        void this.checkRetention(error).then((lost) => {
          if (!lost) void this.seekToLedger(partition);
        });
        return;
      }
    } else {
      o.stats.ledgerErrors++;
      this.consecutiveFailures++;
      o.logger.error('ledger transaction failed; the batch will be read again', { partition, error: errorMessage(error) });
      this.retryAfter.set(partition, this.now() + Math.min(30_000, 250 * 2 ** this.consecutiveFailures));
      if (this.consecutiveFailures >= (o.maxConsecutiveFailures ?? MAX_CONSECUTIVE_FAILURES)) {
        o.fatal(new MeterError(`ledger writes keep failing (${errorMessage(error)}); the ledger is consistent, fix the cause and start again`));
        return;
      }
    }
    void this.seekToLedger(partition);
  }

  /** A refused batch past the ledger: was what lies between deleted by retention? Then count it lost and go on. */
  private async checkRetention(gap: LedgerGapError): Promise<boolean> {
    const o = this.options;
    try {
      const low = (await o.logOffsets()).get(gap.partition)?.low ?? 0;
      if (gap.nextOffset >= low) return false;
      o.recovery.retentionGapFound(gap.partition, low);
      o.logger.error('messages were deleted by retention before the worker read them; they cannot be billed', {
        partition: gap.partition,
        fromOffset: gap.nextOffset,
        toOffset: low - 1,
        count: low - gap.nextOffset,
      });
      if (!this.stopping) o.seek(gap.partition, low);
      return true;
    } catch (error) {
      o.logger.debug('cannot read the log start offset', { error: errorMessage(error) });
      return false;
    }
  }

  /** A batch ends below the ledger: the partition stops if its log does too, else the stale batch is passed over. */
  private async logBehind(error: LogBehindLedgerError): Promise<void> {
    if (!(await this.options.recovery.confirmBehind(error))) await this.seekToLedger(error.partition);
  }

  /**
   * Reads the partition again from the ledger's offset. kafkajs has already fetched past the batch,
   * so until this seek lands nothing of the partition reaches the ledger again; and a quiet partition
   * brings no later batch for the ledger to refuse. So a failed read of the offset (the ledger whose
   * transaction just failed may fail this too) is tried again until it lands or the worker stops.
   * Requests while one is under way run it once more, so the last seek follows the last failure.
   */
  private async seekToLedger(partition: number): Promise<void> {
    const o = this.options;
    if (this.seeking.has(partition)) {
      this.seeking.set(partition, true);
      return;
    }
    this.seeking.set(partition, false);
    try {
      for (let attempt = 1; !this.stopping; ) {
        try {
          const offset = await o.ledgerOffset(partition);
          if (offset !== undefined && !this.stopping) o.seek(partition, offset);
          if (!this.seeking.get(partition)) return;
          this.seeking.set(partition, false);
          attempt = 1;
        } catch (error) {
          o.logger.warn('cannot read the ledger offset to read the partition again; retrying', { partition, attempt, error: errorMessage(error) });
          await this.untilStop(sleep(Math.min(10_000, (o.seekRetryMs ?? 250) * 2 ** (attempt - 1)), undefined, { ref: false }));
          attempt++;
        }
      }
    } finally {
      this.seeking.delete(partition);
    }
  }
}
