// `meter worker`: a kafkajs consumer group member that turns Sample v1 messages into ledger rows.
//
// Exactly-once effect, without Kafka transactions: each batch's samples, charges, DLQ counts and the
// partition's next offset go into the ledger in one SQLite transaction, and the ledger's offsets are
// the truth. On every (re)assignment the worker seeks each partition to the ledger's offset, and
// inside the transaction it skips anything below it, so a batch that is delivered again (a crash
// before the Kafka commit, a rebalance, a zombie member) changes nothing. Samples are also unique by
// id, so duplicates and agent replays change nothing either. Kafka's committed offsets follow the
// ledger's, after each transaction, for lag tools.
import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import { MeterError, errorMessage } from '../cli/errors.js';
import { createKafka, ensureTopic, type KafkaConnection } from '../kafka/client.js';
import type { Logger } from '../log/logger.js';
import { openLedger, type ApplyResult, type Ledger } from '../ledger/index.js';
import { describeRateCard, type RateCard } from '../billing/rate-card.js';
import { BatchPreparer } from './prepare.js';
import { dlqTopicFor, sendToDlq } from './dlq.js';
import { RateMeter, StatusLine, statusLine, totalLag, type WorkerCounters } from './status.js';

export interface WorkerOptions {
  connection: KafkaConnection;
  topic: string;
  group: string;
  ledgerPath: string;
  rateCard: RateCard;
  lateLimitMs: number;
  /** Partitions when the worker has to create the topic. */
  partitions: number;
  logger: Logger;
  /** A TTY status line; without it, JSON progress lines through the logger. */
  statusLine?: StatusLine;
  /** Resolves when the worker should stop; defaults to SIGINT/SIGTERM. */
  stopSignal?: Promise<unknown>;
  /** Called after each applied batch (benchmarks, tests). */
  onBatch?: (result: ApplyResult & { partition: number; lag: number }) => void;
  /** Fetch size per partition; bigger batches mean fewer transactions. */
  maxBytesPerPartition?: number;
  /** How often a non-TTY worker logs its progress. */
  progressIntervalMs?: number;
}

export interface WorkerSummary {
  inserted: number;
  duplicates: number;
  dlq: number;
  batches: number;
}

const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const { logger, topic, group } = options;
  // Before any await: a signal that arrives while connecting still stops the worker cleanly.
  const stopSignal = options.stopSignal ?? waitForSignal();
  const ledger = openLedger(options.ledgerPath);
  const rateCardId = ledger.registerRateCard(options.rateCard);
  const preparer = new BatchPreparer(options.rateCard, options.lateLimitMs);
  const counters: WorkerCounters = { inserted: 0, duplicates: 0, dlq: 0, batches: 0, lag: new Map() };
  const kafka: Kafka = createKafka(options.connection, logger);
  const admin: Admin = kafka.admin();
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let ticker: NodeJS.Timeout | undefined;
  try {
    try {
      await admin.connect();
      await ensureTopic(admin, topic, options.partitions, logger);
      await ensureTopic(admin, dlqTopicFor(topic), 1, logger);
    } catch (error) {
      throw new MeterError(
        `cannot reach Kafka at ${options.connection.brokers.join(',')}: ${errorMessage(error)}; start one with \`meter kafka start\` or pass --brokers`,
      );
    }
    // Where the log of each partition starts: a partition the ledger has never seen is read from there,
    // whatever the group committed before, because the ledger (not Kafka) says what has been applied.
    const logStart = new Map<number, string>();
    for (const p of await admin.fetchTopicOffsets(topic)) logStart.set(p.partition, p.low);

    producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const dlqProducer = producer;
    consumer = kafka.consumer({
      groupId: group,
      maxBytesPerPartition: options.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
      maxBytes: 4 * (options.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION),
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
    });
    const activeConsumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });

    activeConsumer.on(activeConsumer.events.GROUP_JOIN, ({ payload }) => {
      const assigned = payload.memberAssignment[topic] ?? [];
      counters.lag = new Map(assigned.map((p) => [p, counters.lag.get(p) ?? 0]));
      const seeks: Record<number, string> = {};
      for (const partition of assigned) {
        const next = ledger.nextOffset(group, topic, partition);
        const offset = next !== undefined ? String(next) : logStart.get(partition);
        if (offset === undefined) continue;
        activeConsumer.seek({ topic, partition, offset });
        seeks[partition] = offset;
      }
      logger.info('partitions assigned', { group, topic, partitions: assigned, resumeFrom: seeks });
    });

    let crashed: ((error: Error) => void) | undefined;
    const crash = new Promise<never>((_, reject) => (crashed = reject));
    crash.catch(() => {});
    activeConsumer.on(activeConsumer.events.CRASH, ({ payload }) => {
      logger.error('consumer crashed', { error: payload.error.message, restarting: payload.restart });
      if (!payload.restart) crashed?.(payload.error);
    });

    const eachBatch = async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload) => {
      const partition = batch.partition;
      const lastOffset = Number(batch.lastOffset());
      const lag = Number(batch.offsetLag());
      const applied = ledger.nextOffset(group, topic, partition) ?? 0;
      if (lastOffset < applied) {
        // All of it is in the ledger already (delivered again after a crash or a rebalance).
        resolveOffset(batch.lastOffset());
        counters.lag.set(partition, lag);
        return;
      }
      const prepared = preparer.prepare(batch.messages, Date.now(), applied);
      if (prepared.rejects.length > 0) {
        await sendToDlq(dlqProducer, topic, partition, prepared.rejects);
        await heartbeat();
      }
      const result = ledger.applyBatch({
        group,
        topic,
        partition,
        lastOffset,
        samples: prepared.samples,
        rejects: prepared.rejects,
        rateCardId,
      });
      resolveOffset(batch.lastOffset());
      counters.inserted += result.inserted;
      counters.duplicates += result.duplicates;
      counters.dlq += result.rejected;
      counters.batches++;
      counters.lag.set(partition, lag);
      if (result.rejected > 0) {
        const reasons = [...new Set(prepared.rejects.map((r) => r.code))];
        logger.warn('invalid messages sent to the DLQ', { partition, count: result.rejected, reasons, dlq: dlqTopicFor(topic) });
      }
      options.onBatch?.({ ...result, partition, lag });
      await commitOffsetsIfNecessary();
      await heartbeat();
    };

    await consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, 8)),
      eachBatch,
    });
    logger.info('worker started', {
      group,
      topic,
      ledger: options.ledgerPath,
      rates: describeRateCard(options.rateCard),
      lateLimitHours: options.lateLimitMs / 3_600_000,
    });

    const meter = new RateMeter();
    let lastLogged = -1;
    let lastLoggedAt = 0;
    const tick = () => {
      const now = Date.now();
      meter.observe(counters.inserted, now);
      if (options.statusLine) {
        options.statusLine.draw(statusLine(group, topic, counters, meter.rate(now), options.statusLine.width));
      } else if (counters.inserted + counters.dlq + counters.duplicates !== lastLogged || now - lastLoggedAt >= 60_000) {
        if (now - lastLoggedAt >= (options.progressIntervalMs ?? 10_000)) {
          lastLogged = counters.inserted + counters.dlq + counters.duplicates;
          lastLoggedAt = now;
          logger.info('progress', {
            samplesPerSecond: Math.round(meter.rate(now)),
            lag: totalLag(counters),
            inserted: counters.inserted,
            duplicates: counters.duplicates,
            dlq: counters.dlq,
            partitions: [...counters.lag.keys()],
          });
        }
      }
    };
    ticker = setInterval(tick, 1000);

    let stoppedBy: unknown;
    try {
      stoppedBy = await Promise.race([stopSignal, crash]);
    } catch (error) {
      throw new MeterError(`the consumer stopped: ${errorMessage(error)}; the ledger is consistent, start the worker again`);
    }
    clearInterval(ticker);
    options.statusLine?.clear();
    logger.info('stopping: finishing the current batch and leaving the group', { signal: String(stoppedBy) });
  } finally {
    if (ticker) clearInterval(ticker);
    options.statusLine?.clear();
    // disconnect() waits for the batch in hand, commits, and leaves the group.
    await consumer?.disconnect().catch((error: Error) => logger.warn('consumer disconnect failed', { error: error.message }));
    await producer?.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    ledger.close();
  }
  const summary = { inserted: counters.inserted, duplicates: counters.duplicates, dlq: counters.dlq, batches: counters.batches };
  logger.info('worker stopped', { ...summary });
  return summary;
}
