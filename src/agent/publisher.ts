// Drains the spool to Kafka in order. A batch leaves the spool only after all in-sync replicas have
// acknowledged it (acks = -1). When the broker is unreachable, samples simply stay spooled; the
// publisher says so once per outage and replays everything in order when the broker is back.
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { ensureTopic } from '../kafka/client.js';
import type { Logger } from '../log/logger.js';
import type { Spool } from './spool.js';

export interface PublisherOptions {
  kafka: Kafka;
  spool: Spool;
  topic: string;
  partitions: number;
  logger: Logger;
  /** Messages per produce request. */
  batchSize?: number;
  /** Called after each acknowledged send with its latency in seconds. */
  onPublished?: (seconds: number) => void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;
/** A send pending this long means the broker is not answering: say so, once, while kafkajs retries. */
const OUTAGE_NOTICE_MS = 3000;

export class Publisher {
  private producer: Producer | undefined;
  private topicReady = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private outageSince: number | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  /** Messages acknowledged by Kafka since start. */
  published = 0;
  /** Epoch ms of the last acknowledged send (0: none yet). */
  lastPublishMs = 0;

  constructor(private readonly options: PublisherOptions) {}

  get connected(): boolean {
    return this.outageSince === undefined && this.producer !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Tells the loop there is something new in the spool. */
  notify(): void {
    this.wake?.();
  }

  /** Stops after trying, until the deadline, to deliver what is spooled; the rest stays on disk. */
  async stop(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (this.options.spool.pending > 0 && this.connected && Date.now() < deadline) {
      this.notify();
      await sleep(50);
    }
    this.running = false;
    this.notify();
    await Promise.race([this.loop, sleep(Math.max(0, deadline - Date.now()))]);
    const producer = this.producer;
    this.producer = undefined;
    await Promise.race([producer?.disconnect().catch(() => undefined), sleep(1000)]);
  }

  private async run(): Promise<void> {
    const { spool, logger } = this.options;
    const batchSize = this.options.batchSize ?? 1000;
    while (this.running) {
      if (spool.pending === 0) {
        // Sleeps until the sampler appends (notify) or stop() is called: no polling while idle.
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const batch = spool.peek(batchSize);
      if (batch.records.length === 0) {
        // Only state markers before the next record: step over them; look again soon.
        spool.ack(batch.next, 0);
        await sleep(100);
        continue;
      }
      const notice = setTimeout(() => this.enterOutage('no answer from the broker'), OUTAGE_NOTICE_MS);
      try {
        const producer = await this.connect();
        const sentAt = performance.now();
        await producer.send({
          topic: this.options.topic,
          acks: -1,
          messages: batch.records.map((r) => ({ key: r.key, value: r.value })),
        });
        clearTimeout(notice);
        this.options.onPublished?.((performance.now() - sentAt) / 1000);
        spool.ack(batch.next, batch.records.length);
        this.published += batch.records.length;
        this.lastPublishMs = Date.now();
        this.backoffMs = MIN_BACKOFF_MS;
        if (this.outageSince !== undefined) {
          logger.info('broker reachable again; replaying the spool', {
            outageSeconds: Math.round((Date.now() - this.outageSince) / 1000),
            stillSpooled: spool.pending,
          });
          this.outageSince = undefined;
        }
      } catch (error) {
        clearTimeout(notice);
        this.enterOutage((error as Error).message);
        // A fresh producer after a failure: kafkajs's may hold broken connections to a restarted broker.
        const stale = this.producer;
        this.producer = undefined;
        await stale?.disconnect().catch(() => undefined);
        if (!this.running) break;
        await sleep(this.backoffMs);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
      }
    }
  }

  private enterOutage(reason: string): void {
    if (this.outageSince !== undefined) return;
    this.outageSince = Date.now();
    this.options.logger.warn('broker unreachable; spooling samples to disk until it is back', {
      error: reason,
      spool: this.options.spool.dir,
      pending: this.options.spool.pending,
    });
  }

  private async connect(): Promise<Producer> {
    if (this.producer) return this.producer;
    const { kafka, topic, partitions, logger } = this.options;
    if (!this.topicReady) {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopic(admin, topic, partitions, logger);
        this.topicReady = true;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }
    // Few retries inside kafkajs: our loop retries with its own backoff and a fresh producer.
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 2000 },
    });
    await producer.connect();
    this.producer = producer;
    return producer;
  }
}
