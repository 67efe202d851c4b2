// The worker's lag, per partition it holds: the topic's end offset minus the LEDGER's next offset.
// Not how far kafkajs's fetches are behind: kafkajs fetches ahead of the ledger (batches queued for
// the ledger thread, a transaction waiting on a lock), so the last fetch can be at the log's end while
// the ledger is tens of thousands of messages behind.
//
// The ledger's next offset comes from the worker's own transactions (a partition has one owner, and
// its offset moves only by them or by the recovery command, which re-admits the partition); the end
// offset from each fetched batch and from reading the topic's offsets every second, so lag keeps
// growing when nothing is fetched (the ledger stuck, the partition stopped).

export interface PartitionLag {
  partition: number;
  /** The log's end offset (the next offset to be written), as last read. */
  logEnd?: number;
  /** The ledger's next offset for the partition. */
  ledgerNext?: number;
  /** logEnd - ledgerNext (never below 0), once both are known. */
  lag?: number;
}

export class LagTracker {
  private readonly logEnds = new Map<number, number>();
  private readonly ledgerNexts = new Map<number, number>();
  private assigned: number[] = [];

  /** The partitions this member holds now (each rebalance): the others are forgotten. */
  assign(partitions: Iterable<number>): void {
    this.assigned = [...new Set(partitions)].sort((a, b) => a - b);
    const held = new Set(this.assigned);
    for (const map of [this.logEnds, this.ledgerNexts]) for (const p of map.keys()) if (!held.has(p)) map.delete(p);
  }

  partitions(): readonly number[] {
    return this.assigned;
  }

  /** The ledger's next offset as read at admission (or a resume after the recovery command): exactly this. */
  ledgerAdmitted(partition: number, nextOffset: number): void {
    if (this.holds(partition)) this.ledgerNexts.set(partition, nextOffset);
  }

  /** A transaction committed: the ledger's next offset moved to nextOffset (results only move it forward). */
  ledgerApplied(partition: number, nextOffset: number): void {
    if (!this.holds(partition)) return;
    const prior = this.ledgerNexts.get(partition);
    if (prior === undefined || nextOffset > prior) this.ledgerNexts.set(partition, nextOffset);
  }

  /** A fetched batch's high watermark: the log reached at least this far. */
  logEndSeen(partition: number, end: number): void {
    if (!this.holds(partition) || !Number.isFinite(end)) return;
    const prior = this.logEnds.get(partition);
    if (prior === undefined || end > prior) this.logEnds.set(partition, end);
  }

  /** The topic's end offsets as read now: they replace what was known (a log can also end lower: a re-created topic). */
  logEndsRead(ends: ReadonlyMap<number, number>): void {
    for (const [partition, end] of ends) if (this.holds(partition)) this.logEnds.set(partition, end);
  }

  lagOf(partition: number): PartitionLag {
    const logEnd = this.logEnds.get(partition);
    const ledgerNext = this.ledgerNexts.get(partition);
    const lag = logEnd !== undefined && ledgerNext !== undefined ? Math.max(0, logEnd - ledgerNext) : undefined;
    return { partition, logEnd, ledgerNext, lag };
  }

  /** Every held partition, in order. */
  all(): PartitionLag[] {
    return this.assigned.map((p) => this.lagOf(p));
  }

  /** The sum over held partitions whose lag is known. */
  total(): number {
    let sum = 0;
    for (const p of this.assigned) sum += this.lagOf(p).lag ?? 0;
    return sum;
  }

  private holds(partition: number): boolean {
    return this.assigned.includes(partition);
  }
}
