// Tells Kafka the offsets the ledger has committed, so lag tools see progress, each with metadata
// naming the ledger (see ledger-ownership.ts). One commit at a time; a failed one (a rebalance in
// progress, a broker away) is kept for the next, since the ledger has the offsets anyway.
import { errorMessage } from '../cli/errors.js';
import type { Logger } from '../log/logger.js';

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: string;
  metadata: string;
}

export interface OffsetCommitterOptions {
  topic: string;
  /** The ledger's identity, as commit metadata. */
  metadata: string;
  /** Commits through the group member (kafkajs consumer.commitOffsets). */
  commit: (offsets: OffsetToCommit[]) => Promise<void>;
  logger: Logger;
}

export class OffsetCommitter {
  private readonly acked = new Map<number, number>();
  private assigned = new Set<number>();
  private committing?: Promise<void>;

  constructor(private readonly options: OffsetCommitterOptions) {}

  /** The partitions this member holds now; acks for others are dropped (their new owner commits). */
  setAssigned(partitions: Iterable<number>): void {
    this.assigned = new Set(partitions);
    for (const p of this.acked.keys()) if (!this.assigned.has(p)) this.acked.delete(p);
  }

  /** The ledger's next offset for a partition, to be committed. */
  ack(partition: number, nextOffset: number): void {
    if (!this.assigned.has(partition)) return;
    const prior = this.acked.get(partition);
    if (prior === undefined || nextOffset > prior) this.acked.set(partition, nextOffset);
  }

  /** Offsets acked and not yet committed (tests). */
  pending(): Map<number, number> {
    return new Map(this.acked);
  }

  /** Commits what is acked; a call while one runs joins it. */
  flush(): Promise<void> {
    if (this.committing) return this.committing;
    const run = async () => {
      while (this.acked.size > 0) {
        const { topic, metadata } = this.options;
        const offsets = [...this.acked].map(([partition, offset]) => ({ topic, partition, offset: String(offset), metadata }));
        this.acked.clear();
        try {
          await this.options.commit(offsets);
        } catch (error) {
          for (const o of offsets) {
            if (!this.acked.has(o.partition) && this.assigned.has(o.partition)) this.acked.set(o.partition, Number(o.offset));
          }
          this.options.logger.debug('commit to Kafka failed; the ledger holds the offsets', { error: errorMessage(error) });
          return;
        }
      }
    };
    this.committing = run().finally(() => (this.committing = undefined));
    return this.committing;
  }
}
