// Keeps one kafkajs consumer running for the worker. kafkajs restarts its consumer after most errors,
// but gives up on some (the group coordinator gone for longer than its retries, as in a broker
// restart); then the supervisor builds a new one, with backoff, for as long as the worker runs. The
// ledger's offsets make a fresh start exact.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { errorMessage } from '../cli/errors.js';
import type { Logger } from '../log/logger.js';

export interface ConsumerSupervisorOptions {
  kafka: Pick<Kafka, 'consumer'>;
  group: string;
  topic: string;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  partitionsConsumedConcurrently: number;
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /**
   * Every assignment of this member, with its partitions of the topic: each rebalance, and none while
   * a crashed consumer is being replaced.
   */
  onAssigned: (partitions: number[], why: 'rebalance' | 'restart') => void;
  logger: Logger;
}

export class ConsumerSupervisor {
  private consumer?: Consumer;
  private replacing?: Promise<void>;
  private stopping = false;

  constructor(private readonly options: ConsumerSupervisorOptions) {}

  /** Starts the first consumer; throws when it cannot join the group. */
  async start(): Promise<void> {
    this.consumer = await this.create();
  }

  /** The running consumer (undefined between a crash and its replacement). */
  get current(): Consumer | undefined {
    return this.replacing ? undefined : this.consumer;
  }

  private async create(): Promise<Consumer> {
    const o = this.options;
    const fresh = o.kafka.consumer({
      groupId: o.group,
      maxBytesPerPartition: o.maxBytesPerPartition,
      maxBytes: 4 * o.maxBytesPerPartition,
      sessionTimeout: o.sessionTimeoutMs,
      // The longest a fetch waits for data: also how long a stop can wait for the fetch in flight.
      maxWaitTimeInMs: 1000,
      heartbeatInterval: Math.max(500, Math.floor(o.sessionTimeoutMs / 10)),
    });
    fresh.on(fresh.events.GROUP_JOIN, ({ payload }) => o.onAssigned(payload.memberAssignment[o.topic] ?? [], 'rebalance'));
    // kafkajs's run() resolves even when joining the group fails for good (a session timeout the
    // broker refuses, a group it may not join): it crashes without restarting. That is a failed start.
    let starting = true;
    let failedToJoin: Error | undefined;
    fresh.on(fresh.events.CRASH, ({ payload }) => {
      if (starting) {
        if (!payload.restart) failedToJoin = payload.error;
        return;
      }
      o.logger.error('consumer crashed', { error: payload.error.message, restarting: payload.restart });
      if (!payload.restart && fresh === this.consumer) void this.replace();
    });
    try {
      await fresh.connect();
      await fresh.subscribe({ topic: o.topic, fromBeginning: true });
      await fresh.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
        eachBatch: o.eachBatch,
      });
      starting = false;
      if (failedToJoin) throw failedToJoin;
    } catch (error) {
      starting = false;
      await fresh.disconnect().catch(() => {});
      throw error;
    }
    return fresh;
  }

  private replace(): Promise<void> {
    if (this.replacing || this.stopping) return this.replacing ?? Promise.resolve();
    const { logger } = this.options;
    const run = async () => {
      this.options.onAssigned([], 'restart');
      await this.consumer?.disconnect().catch(() => {});
      for (let attempt = 1; !this.stopping; attempt++) {
        const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
        logger.warn('starting a new consumer', { inSeconds: delay / 1000, attempt });
        for (const until = Date.now() + delay; !this.stopping && Date.now() < until; ) await sleep(100);
        if (this.stopping) break;
        try {
          this.consumer = await this.create();
          if (this.stopping) break;
          logger.info('consumer running again', { attempt });
          break;
        } catch (error) {
          logger.warn('cannot start a consumer yet', { error: errorMessage(error) });
        }
      }
    };
    this.replacing = run().finally(() => (this.replacing = undefined));
    return this.replacing;
  }

  /** Stops fetching (the batches in hand go on). */
  pauseAll(): void {
    try {
      this.consumer?.pause([{ topic: this.options.topic }]);
    } catch {
      // Not running (a crash): nothing to pause.
    }
  }

  /** Stops replacing, and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.replacing;
    await this.consumer?.disconnect().catch((error: Error) => this.options.logger.warn('consumer disconnect failed', { error: error.message }));
  }
}
