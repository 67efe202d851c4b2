// The live tail: a short-lived consumer of its own (a throw-away group that never commits) reading the
// usage topic from a little while back, for each machine's recent CPU and memory. It keeps what it has
// when the broker goes away and picks up again by itself when it comes back.
//
// On every (re)join it seeks each partition to the offsets at (now - backfillMs), so sparklines are
// full at once and `--once` sees the last few intervals without waiting for new samples.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { DEFAULT_LATE_LIMIT_MS } from '../schema/sample.js';
import { allSettled } from '../kafka/settled.js';
import { MachineTraces, type TraceOptions } from './machine-traces.js';
import { newTailSample, TailDecoder } from './tail-decode.js';

export type { MachineTrace, TailState } from './machine-traces.js';

export interface TopicTailOptions extends TraceOptions {
  kafka: Kafka;
  topic: string;
  /** How far back to start reading on (re)join. */
  backfillMs: number;
  /**
   * Read what is there and come back at once, rather than wait up to a second for a fuller fetch:
   * for a one-shot snapshot, which ends as soon as it has caught up.
   */
  eager?: boolean;
}

/** Messages of a batch read between two turns of the event loop (see onBatch). */
const MESSAGES_PER_TURN = 500;

/**
 * How the tail fetches: in batches of up to a second of traffic rather than message by message (the
 * screen shows at most a frame or two a second, and a big fleet costs far less CPU this way), or at
 * once for a one-shot. Also the benchmark's reference consumer's (test/bench/tail-reference.mjs).
 */
export function tailFetchOptions(eager: boolean): { minBytes: number; maxWaitTimeInMs: number } {
  return eager ? { minBytes: 1, maxWaitTimeInMs: 100 } : { minBytes: 64 * 1024, maxWaitTimeInMs: 1000 };
}

/** The group id of a console's own tail consumer: unique, and recognisable in group listings. */
export function tailGroupId(): string {
  return `meter-console-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class TopicTail extends MachineTraces {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Next offset to read per partition, and the end offsets to reach for catchUp(). */
  private readonly position = new Map<number, number>();
  private targets: Map<number, number> | undefined;
  private readonly decoder = new TailDecoder();
  /** Each message's sample is read into this one object; addSample() copies what it keeps. */
  private readonly scratch = newTailSample();

  constructor(private readonly options: TopicTailOptions) {
    super(options);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  private scheduleRestart(delayMs: number): void {
    if (this.stopped || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.connect();
    }, delayMs);
    this.restartTimer.unref?.();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { kafka, topic } = this.options;
    await this.teardown();
    const consumer = kafka.consumer({
      groupId: tailGroupId(),
      allowAutoTopicCreation: false,
      ...tailFetchOptions(this.options.eager ?? false),
      sessionTimeout: 10_000,
      heartbeatInterval: 3000,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000, restartOnFailure: async () => !this.stopped },
    });
    const admin = kafka.admin({ retry: { retries: 1, initialRetryTime: 300, maxRetryTime: 1000 } });
    this.consumer = consumer;
    this.admin = admin;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      void this.seekBack(consumer, admin);
    });
    consumer.on(consumer.events.FETCH, () => {
      if (this.state !== 'running') this.setState('running');
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const message = firstLine(event.payload.error);
      this.setState('reconnecting', message);
      // kafkajs restarts by itself after retriable errors; after others we start over.
      if (!event.payload.restart) this.scheduleRestart(2000);
    });
    // stop() may come while any step below is in flight (kafkajs retries a missing topic's metadata
    // for seconds); a step finishing after it would leave a connection open and the process alive.
    const abandoned = async () => {
      if (!this.stopped) return false;
      await Promise.allSettled([consumer.disconnect(), admin.disconnect()]);
      return true;
    };
    try {
      await admin.connect();
      if (await abandoned()) return;
      await consumer.connect();
      if (await abandoned()) return;
      await consumer.subscribe({ topic, fromBeginning: false });
      if (await abandoned()) return;
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        eachBatch: async (payload) => this.onBatch(payload),
      });
      await abandoned();
    } catch (error) {
      if (await abandoned()) return;
      this.setState(this.state === 'connecting' ? 'connecting' : 'reconnecting', firstLine(error));
      this.scheduleRestart(2000);
    }
  }

  /** Seeks every partition to the offsets at (now - backfill); remembers the end offsets to reach. */
  private async seekBack(consumer: Consumer, admin: Admin): Promise<void> {
    const { topic, backfillMs } = this.options;
    try {
      const [ends, starts] = await allSettled([
        admin.fetchTopicOffsets(topic),
        admin.fetchTopicOffsetsByTimestamp(topic, this.now() - backfillMs),
      ] as const);
      if (!this.targets) this.targets = new Map(ends.map((e) => [e.partition, Number(e.high)]));
      for (const s of starts) {
        const end = ends.find((e) => e.partition === s.partition);
        // No message at or after the timestamp: the offset is the end.
        const offset = Number(s.offset) < 0 && end ? Number(end.high) : Number(s.offset);
        const known = this.position.get(s.partition);
        // Do not re-read what this tail already has from before a rejoin.
        const from = known !== undefined && known > offset ? known : offset;
        this.position.set(s.partition, from);
        consumer.seek({ topic, partition: s.partition, offset: String(from) });
      }
      this.changed();
    } catch (error) {
      // Reading from the latest offsets is still a live tail; say why the history is short.
      this.message = `no history: ${firstLine(error)}`;
    }
  }

  private async onBatch({ batch }: EachBatchPayload): Promise<void> {
    const now = this.now();
    const limits = { now, lateLimitMs: DEFAULT_LATE_LIMIT_MS };
    const before = this.received;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i++) {
      // A big batch (a burst of 10,000 machines' samples is 3,000 a partition) in parts, with the
      // event loop's turn between them: key presses wait for a part (a few ms), not the batch.
      if (i > 0 && i % MESSAGES_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      const message = messages[i]!;
      const sample = this.decoder.read(message.value, message.key, limits, this.scratch);
      if (sample) {
        this.addSample(sample);
        this.received++;
      } else {
        this.invalid++;
      }
    }
    this.arrivals.record(now, this.received - before);
    const last = batch.lastOffset();
    if (batch.messages.length > 0) this.position.set(batch.partition, Number(last) + 1);
    this.changed();
  }

  /** True once every partition has been read up to the end offsets seen at the first join. */
  caughtUp(): boolean {
    if (!this.targets) return false;
    for (const [partition, end] of this.targets) {
      if ((this.position.get(partition) ?? -1) < end) return false;
    }
    return true;
  }

  private async teardown(): Promise<void> {
    const consumer = this.consumer;
    const admin = this.admin;
    this.consumer = undefined;
    this.admin = undefined;
    await Promise.allSettled([consumer?.disconnect(), admin?.disconnect()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.teardown();
  }
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]!.slice(0, 200);
}
