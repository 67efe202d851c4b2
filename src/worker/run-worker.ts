// `meter worker`: a kafkajs consumer group member that turns Sample v1 messages into ledger rows.
//
// Exactly-once effect, without Kafka transactions: each batch's samples, charges, DLQ counts and the
// partition's next offset go into the ledger in one SQLite transaction, and the ledger's offsets are
// the truth. On every (re)assignment the worker seeks each partition to the ledger's offset; inside
// the transaction anything below that offset is skipped, and a batch that starts past it (because one
// before it failed) is refused. So a batch delivered again (a crash before the Kafka commit, a
// rebalance, a zombie member) changes nothing, and no batch is ever stepped over. Samples are also
// unique by id, so duplicates and agent replays change nothing either.
//
// Pipelining: the transaction runs on the ledger thread while the main thread fetches and validates
// the next batches (at most MAX_IN_FLIGHT queued). kafkajs is told a batch is consumed as soon as it
// is queued, so it fetches on; Kafka's committed offsets, for lag tools, are only ever the ledger's
// own, committed after each transaction.
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type Kafka, type Producer } from 'kafkajs';
import { MeterError, errorMessage } from '../cli/errors.js';
import { shutdownRequested } from '../cli/shutdown.js';
import { createKafka, ensureTopic, type KafkaConnection } from '../kafka/client.js';
import type { Logger } from '../log/logger.js';
import { LedgerGapError, openLedger, type ApplyResult } from '../ledger/index.js';
import { describeRateCard, type RateCard } from '../billing/rate-card.js';
import { BatchPreparer } from './prepare.js';
import { dlqTopicFor, sendToDlq } from './dlq.js';
import { InlineLedgerWriter, ThreadLedgerWriter, type LedgerWriter } from './ledger-writer.js';
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
  /** Resolves when the worker should stop; defaults to SIGINT/SIGTERM/SIGHUP (or `meter up` going away). */
  stopSignal?: Promise<unknown>;
  /** Called after each applied batch (benchmarks, tests). */
  onBatch?: (result: ApplyResult & { partition: number; lag: number }) => void;
  /** Fetch size per partition; bigger batches mean fewer transactions. */
  maxBytesPerPartition?: number;
  /** Consumer group session timeout: how soon a member that died (kill -9) loses its partitions. */
  sessionTimeoutMs?: number;
  /** How often a non-TTY worker logs its progress. */
  progressIntervalMs?: number;
  /** Run transactions on the main thread instead of the ledger thread. */
  inlineLedger?: boolean;
}

export interface WorkerSummary {
  inserted: number;
  duplicates: number;
  dlq: number;
  batches: number;
}

const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
/** Batches queued for the ledger thread before the consumer waits. */
const MAX_IN_FLIGHT = 3;
/** Consecutive failed transactions (other than gaps) before the worker gives up with an error. */
const MAX_CONSECUTIVE_FAILURES = 10;

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const { logger, topic, group } = options;
  // Before any await: a signal that arrives while connecting still stops the worker cleanly.
  const stopSignal = options.stopSignal ?? shutdownRequested();
  // The main thread's connection: migrations, the rate card, and the offsets it seeks to.
  const ledger = openLedger(options.ledgerPath);
  const rateCardId = ledger.registerRateCard(options.rateCard);
  const preparer = new BatchPreparer(options.rateCard, options.lateLimitMs);
  const counters: WorkerCounters = { inserted: 0, duplicates: 0, dlq: 0, batches: 0, lag: new Map() };
  const kafka: Kafka = createKafka(options.connection, logger);
  const admin: Admin = kafka.admin();
  let writer: LedgerWriter | undefined;
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let activeBatches = 0;
  let stopping = false;
  let replaceOnStop: () => Promise<void> | undefined = () => undefined;
  let fatal: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => {});
  try {
    writer = options.inlineLedger ? new InlineLedgerWriter(ledger) : await ThreadLedgerWriter.start(options.ledgerPath);
    const ledgerWriter = writer;
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
    /** Where a partition resumes: the ledger's next offset, else the start of the log. */
    const resumeOffset = (partition: number): string | undefined => {
      const next = ledger.nextOffset(group, topic, partition);
      return next !== undefined ? String(next) : logStart.get(partition);
    };

    // Offsets the ledger has committed and Kafka has not been told yet; one commit at a time.
    let assigned = new Set<number>();
    const acked = new Map<number, number>();
    let committing: Promise<void> | undefined;
    const commitAcked = (): Promise<void> => {
      if (committing) return committing;
      const run = async () => {
        while (acked.size > 0) {
          const offsets = [...acked].map(([partition, offset]) => ({ topic, partition, offset: String(offset) }));
          acked.clear();
          try {
            if (!consumer) return;
            await consumer.commitOffsets(offsets);
          } catch (error) {
            // A rebalance in progress, a broker away: keep them for the next commit (the ledger has them).
            for (const o of offsets) if (!acked.has(o.partition) && assigned.has(o.partition)) acked.set(o.partition, Number(o.offset));
            logger.debug('commit to Kafka failed; the ledger holds the offsets', { error: errorMessage(error) });
            return;
          }
        }
      };
      committing = run().finally(() => (committing = undefined));
      return committing;
    };

    let consecutiveFailures = 0;
    const retryAfter = new Map<number, number>();
    const onApplied = (partition: number, lag: number, result: ApplyResult, rejectCodes: string[]) => {
      consecutiveFailures = 0;
      counters.inserted += result.inserted;
      counters.duplicates += result.duplicates;
      counters.dlq += result.rejected;
      counters.batches++;
      if (result.rejected > 0) {
        logger.warn('invalid messages sent to the DLQ', { partition, count: result.rejected, reasons: rejectCodes, dlq: dlqTopicFor(topic) });
      }
      if (assigned.has(partition)) acked.set(partition, result.nextOffset);
      void commitAcked();
      options.onBatch?.({ ...result, partition, lag });
    };
    // Partitions whose next offsets were deleted by retention, up to where their log now starts.
    const retentionGaps = new Map<number, number>();
    const checkRetention = async (gap: LedgerGapError) => {
      try {
        const low = Number((await admin.fetchTopicOffsets(topic)).find((p) => p.partition === gap.partition)?.low ?? 0);
        if (gap.nextOffset >= low) return false;
        retentionGaps.set(gap.partition, low);
        logger.error('messages were deleted by retention before the worker read them; they cannot be billed', {
          partition: gap.partition,
          fromOffset: gap.nextOffset,
          toOffset: low - 1,
          count: low - gap.nextOffset,
        });
        if (assigned.has(gap.partition) && consumer) consumer.seek({ topic, partition: gap.partition, offset: String(low) });
        return true;
      } catch (error) {
        logger.debug('cannot read the log start offset', { error: errorMessage(error) });
        return false;
      }
    };
    const onFailed = (partition: number, error: unknown) => {
      if (error instanceof LedgerGapError) {
        logger.info('batch refused: one before it was not applied; reading again from the ledger offset', {
          partition,
          ledgerOffset: error.nextOffset,
        });
        if (!retentionGaps.has(partition)) {
          void checkRetention(error).then((lost) => {
            if (!lost) seekToLedger(partition);
          });
          return;
        }
      } else {
        consecutiveFailures++;
        logger.error('ledger transaction failed; the batch will be read again', { partition, error: errorMessage(error) });
        retryAfter.set(partition, Date.now() + Math.min(30_000, 250 * 2 ** consecutiveFailures));
        if (consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
          fatal?.(new MeterError(`ledger writes keep failing (${errorMessage(error)}); the ledger is consistent, fix the cause and start again`));
          return;
        }
      }
      seekToLedger(partition);
    };
    function seekToLedger(partition: number) {
      const offset = resumeOffset(partition);
      if (offset !== undefined && assigned.has(partition) && !stopping && consumer) {
        try {
          consumer.seek({ topic, partition, offset });
        } catch (seekError) {
          logger.debug('seek failed', { partition, error: errorMessage(seekError) });
        }
      }
    }

    const eachBatch = async ({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload) => {
      activeBatches++;
      try {
        const partition = batch.partition;
        // Backing off after a failed transaction, heartbeating so the group keeps us.
        while (!stopping && Date.now() < (retryAfter.get(partition) ?? 0)) {
          await sleep(Math.min(1000, (retryAfter.get(partition) ?? 0) - Date.now()));
          await heartbeat();
        }
        if (stopping || isStale()) return;
        const fetchedOffset = Number((batch as { fetchedOffset?: string }).fetchedOffset ?? batch.firstOffset());
        const lastOffset = Number(batch.lastOffset());
        const lag = Number(batch.offsetLag());
        counters.lag.set(partition, lag);
        const prepared = preparer.prepare(batch.messages, Date.now(), ledger.nextOffset(group, topic, partition) ?? 0);
        // To the DLQ before the ledger moves past them: a crash in between sends them again.
        if (prepared.rejects.length > 0) await sendToDlq(dlqProducer, topic, partition, prepared.rejects);
        const rejectCodes = [...new Set(prepared.rejects.map((r) => r.code))];
        const gapUpTo = retentionGaps.get(partition);
        const retentionGap = gapUpTo !== undefined && fetchedOffset <= gapUpTo;
        if (gapUpTo !== undefined && !retentionGap) retentionGaps.delete(partition);
        const job = ledgerWriter
          .apply({ group, topic, partition, fetchedOffset, lastOffset, samples: prepared.samples, rejects: prepared.rejects, rateCardId, retentionGap })
          .then(
            (result) => onApplied(partition, lag, result, rejectCodes),
            (error: unknown) => onFailed(partition, error),
          );
        inFlight.add(job);
        void job.then(() => inFlight.delete(job));
        // kafkajs may fetch on from here; the ledger decides what is applied, and refuses gaps.
        resolveOffset(batch.lastOffset());
        while (inFlight.size >= MAX_IN_FLIGHT) {
          await Promise.race([...inFlight, sleep(1000)]);
          await heartbeat();
        }
        await heartbeat();
      } finally {
        activeBatches--;
      }
    };

    // kafkajs restarts its consumer after most errors, but gives up on some (the group coordinator
    // gone for longer than its retries, as in a broker restart). Then the worker builds a new one,
    // with backoff, for as long as it runs: the ledger's offsets make a fresh start exact.
    const maxBytesPerPartition = options.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION;
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    let replacing: Promise<void> | undefined;
    const createConsumer = async (): Promise<Consumer> => {
      const fresh = kafka.consumer({
        groupId: group,
        maxBytesPerPartition,
        maxBytes: 4 * maxBytesPerPartition,
        sessionTimeout,
        // The longest a fetch waits for data: also how long a stop can wait for the fetch in flight.
        maxWaitTimeInMs: 1000,
        heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
      });
      fresh.on(fresh.events.GROUP_JOIN, ({ payload }) => {
        const partitions = payload.memberAssignment[topic] ?? [];
        assigned = new Set(partitions);
        for (const p of acked.keys()) if (!assigned.has(p)) acked.delete(p);
        counters.lag = new Map(partitions.map((p) => [p, counters.lag.get(p) ?? 0]));
        const seeks: Record<number, string> = {};
        for (const partition of partitions) {
          const offset = resumeOffset(partition);
          if (offset === undefined) continue;
          fresh.seek({ topic, partition, offset });
          seeks[partition] = offset;
        }
        logger.info('partitions assigned', { group, topic, partitions, resumeFrom: seeks });
      });
      fresh.on(fresh.events.CRASH, ({ payload }) => {
        logger.error('consumer crashed', { error: payload.error.message, restarting: payload.restart });
        if (!payload.restart && fresh === consumer) void replaceConsumer();
      });
      try {
        await fresh.connect();
        await fresh.subscribe({ topic, fromBeginning: true });
        await fresh.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, 8)),
          eachBatch,
        });
      } catch (error) {
        await fresh.disconnect().catch(() => {});
        throw error;
      }
      return fresh;
    };
    const replaceConsumer = (): Promise<void> => {
      if (replacing || stopping) return replacing ?? Promise.resolve();
      const run = async () => {
        assigned = new Set();
        await consumer?.disconnect().catch(() => {});
        for (let attempt = 1; !stopping; attempt++) {
          const delay = Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5));
          logger.warn('starting a new consumer', { inSeconds: delay / 1000, attempt });
          for (const until = Date.now() + delay; !stopping && Date.now() < until; ) await sleep(100);
          if (stopping) break;
          try {
            const fresh = await createConsumer();
            consumer = fresh;
            if (stopping) break;
            logger.info('consumer running again', { attempt });
            break;
          } catch (error) {
            logger.warn('cannot start a consumer yet', { error: errorMessage(error) });
          }
        }
      };
      replacing = run().finally(() => (replacing = undefined));
      return replacing;
    };
    replaceOnStop = () => replacing;

    try {
      consumer = await createConsumer();
    } catch (error) {
      throw new MeterError(`cannot join group ${group} on ${options.connection.brokers.join(',')}: ${errorMessage(error)}`);
    }
    logger.info('worker started', {
      group,
      topic,
      ledger: options.ledgerPath,
      rates: describeRateCard(options.rateCard),
      lateLimitHours: options.lateLimitMs / 3_600_000,
    });

    const meter = new RateMeter();
    let lastLoggedTotal = -1;
    let lastLoggedAt = 0;
    const tick = () => {
      const now = Date.now();
      meter.observe(counters.inserted, now);
      if (options.statusLine) {
        options.statusLine.draw(statusLine(group, topic, counters, meter.rate(now), options.statusLine.width));
        return;
      }
      const total = counters.inserted + counters.dlq + counters.duplicates;
      const due = now - lastLoggedAt >= (total !== lastLoggedTotal ? (options.progressIntervalMs ?? 10_000) : 60_000);
      if (due) {
        lastLoggedTotal = total;
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
    };
    ticker = setInterval(tick, 1000);

    let stoppedBy: unknown;
    try {
      stoppedBy = await Promise.race([stopSignal, failed]);
    } catch (error) {
      if (error instanceof MeterError) throw error;
      throw new MeterError(`the consumer stopped: ${errorMessage(error)}; the ledger is consistent, start the worker again`);
    }
    clearInterval(ticker);
    options.statusLine?.clear();
    logger.info('stopping: finishing the batches in hand, then leaving the group', { signal: String(stoppedBy) });
    // Stop fetching, let the batches in hand reach the ledger, tell Kafka, then leave the group.
    stopping = true;
    try {
      consumer?.pause([{ topic }]);
    } catch {
      // Not running (a crash): nothing to pause.
    }
    while (activeBatches > 0 || inFlight.size > 0) await Promise.race([sleep(20), ...inFlight]);
    await commitAcked();
  } finally {
    stopping = true;
    if (ticker) clearInterval(ticker);
    options.statusLine?.clear();
    await Promise.allSettled(inFlight);
    await replaceOnStop();
    await consumer?.disconnect().catch((error: Error) => logger.warn('consumer disconnect failed', { error: error.message }));
    await producer?.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await writer?.close().catch(() => {});
    ledger.close();
  }
  const summary = { inserted: counters.inserted, duplicates: counters.duplicates, dlq: counters.dlq, batches: counters.batches };
  logger.info('worker stopped', { ...summary });
  return summary;
}
