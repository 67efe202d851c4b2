// What the worker does with a partition the group assigns it, before it applies any of its batches:
//   1. refuses the group if another ledger bills it (ledger-ownership.ts);
//   2. records where the partition starts when the ledger has never seen it (the log's start), so a
//      failed first transaction is held to the same rule as every other and never stepped over;
//   3. checks the log against the ledger: a log that ends below the ledger's next offset (topic
//      re-created, broker wiped, offsets reset) stops that partition with a clear error, and a log
//      that starts past it (retention deleted what was never read) is counted as lost;
//   4. seeks to the ledger's offset, and commits it to Kafka with the ledger's name.
// A stopped partition stays paused, and is looked at again every few seconds: once the recovery
// command (`meter ledger offsets --reset-to-log`) has moved the ledger's offset, it resumes.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../cli/errors.js';
import { LogBehindLedgerError, type Ledger } from '../ledger/index.js';
import type { Logger } from '../log/logger.js';
import { ownershipProblem, type CommittedOffset } from './ledger-ownership.js';
import type { OffsetCommitter } from './offset-committer.js';

export interface LogOffsets {
  /** The log's first offset. */
  low: number;
  /** The log's end offset (the next offset to be written). */
  high: number;
}

/** What partition recovery needs of Kafka: the group's committed offsets and the topic's log offsets. */
export interface KafkaOffsetsReader {
  committed(): Promise<CommittedOffset[]>;
  logOffsets(): Promise<Map<number, LogOffsets>>;
}

/** What it needs of the group member. */
export interface PartitionControl {
  seek(partition: number, offset: number): void;
  pause(partition: number): void;
  resume(partition: number): void;
}

export interface PartitionRecoveryOptions {
  group: string;
  topic: string;
  ledger: Pick<Ledger, 'identity' | 'nextOffset' | 'claimPartition'>;
  kafka: KafkaOffsetsReader;
  committer: Pick<OffsetCommitter, 'ack' | 'flush'>;
  control: PartitionControl;
  logger: Logger;
  /** The group bills into another ledger: stop the worker with this error. */
  fatal: (error: Error) => void;
  /** A partition is admitted (or resumed) at the ledger's next offset: what the batch pipeline may assume. */
  onAdmitted?: (partition: number, nextOffset: number) => void;
  /** How often stopped partitions are looked at again. */
  recheckMs?: number;
  now?: () => number;
}

/** The command that recovers a stopped partition, for messages. */
export function recoveryCommand(group: string, topic: string, partition: number, ledgerName: string): string {
  return `meter ledger offsets --ledger '${ledgerName.replace(/ on [^ ]+$/, '')}' --group ${group} --topic ${topic} --partition ${partition} --reset-to-log start`;
}

export class PartitionRecovery {
  private generation = 0;
  private admission: Promise<unknown> = Promise.resolve();
  private admitted = new Set<number>();
  private assigned = new Set<number>();
  private readonly stoppedPartitions = new Map<number, string>();
  private readonly retentionGaps = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PartitionRecoveryOptions) {}

  /** A new assignment (every rebalance): admit its partitions afresh. */
  assign(partitions: number[]): void {
    const generation = ++this.generation;
    this.assigned = new Set(partitions);
    this.admitted = new Set();
    for (const p of this.stoppedPartitions.keys()) if (!this.assigned.has(p)) this.stoppedPartitions.delete(p);
    this.admission = this.admitWithRetry(generation, partitions);
    this.admission.catch(() => {});
  }

  /** Resolves true once the partition may be consumed in the current assignment; false if it may not. */
  async ready(partition: number): Promise<boolean> {
    const generation = this.generation;
    await this.admission;
    return generation === this.generation && this.admitted.has(partition) && !this.stoppedPartitions.has(partition);
  }

  /** Offsets up to which a partition's log was deleted by retention before it was read, if any. */
  retentionGapUpTo(partition: number): number | undefined {
    return this.retentionGaps.get(partition);
  }

  retentionGapFound(partition: number, upTo: number): void {
    this.retentionGaps.set(partition, upTo);
  }

  retentionGapCrossed(partition: number): void {
    this.retentionGaps.delete(partition);
  }

  /** Partitions stopped, with why. */
  stopped(): ReadonlyMap<number, string> {
    return this.stoppedPartitions;
  }

  /** Stops a partition whose log is behind the ledger: pause it, say so once, look again later. */
  stop(error: LogBehindLedgerError): void {
    const { partition } = error;
    if (this.stoppedPartitions.has(partition) || this.closed) return;
    const { group, topic, ledger, logger } = this.options;
    this.stoppedPartitions.set(partition, error.message);
    try {
      this.options.control.pause(partition);
    } catch (pauseError) {
      logger.debug('pause failed', { partition, error: errorMessage(pauseError) });
    }
    logger.error(
      `partition stopped: ${error.message}; nothing of it is billed until the ledger's offset is reset: ${recoveryCommand(group, topic, partition, ledger.identity.name)}`,
      { partition, logEnd: error.logEnd, ledgerOffset: error.nextOffset },
    );
    this.scheduleRecheck();
  }

  /**
   * A batch ends below the ledger's offset. Its high watermark is only as new as its fetch: a host cut
   * off while the group gave its partitions to another worker comes back with batches fetched before
   * the cut, and the ledger has moved on since. So the log's end is read now, and the partition stops
   * only if the log is behind the ledger now too (or cannot be read: the recheck resumes it then).
   * Answers whether it stopped; if not, the batch was stale and everything in it is billed already.
   */
  async confirmBehind(error: LogBehindLedgerError): Promise<boolean> {
    const { partition, nextOffset } = error;
    let logEnd: number | undefined;
    try {
      logEnd = (await this.options.kafka.logOffsets()).get(partition)?.high;
    } catch (readError) {
      this.options.logger.debug('cannot read the log end offset to check a batch behind the ledger', { partition, error: errorMessage(readError) });
    }
    if (logEnd !== undefined && logEnd >= nextOffset) {
      this.options.logger.info('a batch fetched before the ledger moved on was skipped: everything in it is billed already', {
        partition,
        batchLogEnd: error.logEnd,
        logEnd,
        ledgerOffset: nextOffset,
      });
      return false;
    }
    this.stop(logEnd === undefined ? error : new LogBehindLedgerError(partition, logEnd, nextOffset));
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async admitWithRetry(generation: number, partitions: number[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.generation || this.closed) return;
      try {
        const admitted = await this.admit(generation, partitions);
        if (generation === this.generation) this.admitted = admitted;
        return;
      } catch (error) {
        this.options.logger.warn('cannot check the assigned partitions yet; retrying', { attempt, error: errorMessage(error) });
        await sleep(Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  private async admit(generation: number, partitions: number[]): Promise<Set<number>> {
    const { group, topic, ledger, kafka, committer, control, logger } = this.options;
    const known = new Map<number, number>();
    for (const p of partitions) {
      const next = await ledger.nextOffset(group, topic, p);
      if (next !== undefined) known.set(p, next);
    }
    const ownership = { group, topic, ours: ledger.identity, assigned: new Set(partitions), known: new Set(known.keys()) };
    const refuse = (committed: CommittedOffset[]) => {
      const problem = ownershipProblem(committed, ownership);
      if (problem) {
        this.options.fatal(problem);
        return true;
      }
      return false;
    };
    if (refuse(await kafka.committed())) return new Set();
    const logs = await kafka.logOffsets();
    if (generation !== this.generation) return new Set();
    const admitted = new Set<number>();
    const seeks: Record<number, number> = {};
    for (const p of partitions) {
      const log = logs.get(p) ?? { low: 0, high: 0 };
      const next = known.get(p) ?? (await ledger.claimPartition(group, topic, p, log.low, this.options.now?.()));
      if (log.high < next) {
        this.stop(new LogBehindLedgerError(p, log.high, next));
        continue;
      }
      this.stoppedPartitions.delete(p);
      let from = next;
      if (log.low > next) {
        // Retention deleted offsets before anyone read them: the ledger counts them as lost when it
        // applies the first batch past them.
        this.retentionGaps.set(p, log.low);
        logger.error('messages were deleted by retention before the worker read them; they cannot be billed', {
          partition: p,
          fromOffset: next,
          toOffset: log.low - 1,
          count: log.low - next,
        });
        from = log.low;
      }
      control.seek(p, from);
      control.resume(p);
      seeks[p] = from;
      committer.ack(p, next);
      this.options.onAdmitted?.(p, next);
      admitted.add(p);
    }
    // Claim them in Kafka with this ledger's name, then look again: of two ledgers that start at once,
    // at least one sees the other's claim.
    await committer.flush();
    if (refuse(await kafka.committed())) return new Set();
    logger.info('partitions assigned', { group, topic, partitions, resumeFrom: seeks, ledger: ledger.identity.name });
    return admitted;
  }

  private scheduleRecheck(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.recheck();
    }, this.options.recheckMs ?? 5000);
    this.timer.unref?.();
  }

  /** Looks at the stopped partitions again: one whose ledger offset is no longer past its log resumes. */
  private async recheck(): Promise<void> {
    if (this.stoppedPartitions.size === 0 || this.closed) return;
    const { group, topic, ledger, kafka, control, committer, logger } = this.options;
    try {
      const logs = await kafka.logOffsets();
      for (const p of [...this.stoppedPartitions.keys()]) {
        if (!this.assigned.has(p)) continue;
        const next = await ledger.nextOffset(group, topic, p);
        const log = logs.get(p);
        if (next === undefined || !log || log.high < next) continue;
        this.stoppedPartitions.delete(p);
        control.seek(p, next);
        control.resume(p);
        committer.ack(p, next);
        this.options.onAdmitted?.(p, next);
        this.admitted.add(p);
        logger.info('partition resumed: the ledger offset is within the log again', { partition: p, resumeFrom: next });
      }
      await committer.flush();
    } catch (error) {
      logger.debug('cannot look at the stopped partitions yet', { error: errorMessage(error) });
    }
    if (this.stoppedPartitions.size > 0) this.scheduleRecheck();
  }
}
