// `meter worker`: a kafkajs consumer group member that turns Sample v1 messages into ledger rows.
//
// Exactly-once effect, without Kafka transactions: each batch's samples, charges, DLQ counts and the
// partition's next offset go into the ledger in one transaction, and the ledger's offsets are the
// truth. On every (re)assignment the worker checks the partition against the ledger and seeks to the
// ledger's offset (partition-recovery.ts); inside the transaction anything below that offset is
// skipped, and a batch that starts past it is refused (batch-pipeline.ts). So a batch delivered
// again (a crash before the Kafka commit, a rebalance, a zombie member) changes nothing, and no batch
// is ever stepped over. Samples are also unique by id, so duplicates and agent replays change nothing.
//
// This module wires the collaborators: the ledger and its writer, the consumer supervisor, partition
// recovery, the batch pipeline, the offset committer, the stats that progress and --metrics show, and
// runs until told to stop.
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { MeterError, errorMessage } from '../cli/errors.js';
import { shutdownRequested } from '../cli/shutdown.js';
import { createKafka, ensureTopic, type KafkaConnection } from '../kafka/client.js';
import type { Logger } from '../log/logger.js';
import { ANSWER_TIMEOUT_MS, ledgerTarget, openLedger, type ApplyResult, type Ledger } from '../ledger/index.js';
import { describeRateCard, type RateCard } from '../billing/rate-card.js';
import { DEFAULT_ACCEPTANCE_WINDOW, type AcceptanceWindow } from '../billing/acceptance.js';
import { registerWorkerRates } from '../billing/price-store.js';
import { BatchPreparer } from './prepare.js';
import { dlqTopicFor, sendToDlq } from './dlq.js';
import { InlineLedgerWriter, ThreadLedgerWriter, type LedgerWriter } from './ledger-writer.js';
import type { StatusLine } from './status.js';
import { OffsetCommitter } from './offset-committer.js';
import { encodeLedgerMetadata } from './ledger-ownership.js';
import { PartitionRecovery, type KafkaOffsetsReader, type LogOffsets } from './partition-recovery.js';
import { BatchPipeline } from './batch-pipeline.js';
import { ConsumerSupervisor } from './consumer-supervisor.js';
import { Progress } from './progress.js';
import { WorkerStats } from './worker-stats.js';
import { startUpError, type StartContext, type StartStep } from './start-up-errors.js';
import type { MetricsAddress } from '../metrics/address.js';
import type { MetricsServer } from '../metrics/server.js';
import { Pruner } from './pruner.js';

export interface WorkerOptions {
  connection: KafkaConnection;
  topic: string;
  group: string;
  /** --ledger: a SQLite path or a postgres:// URL. */
  ledger: string;
  /** The rate card to register as a price version (see registerWorkerRates). */
  rateCard: RateCard;
  /** Whether the card was given (--rates): else the defaults, registered only into a ledger without prices. */
  explicitRates?: boolean;
  /** The acceptance window, judged against each message's timestamp. */
  acceptance?: AcceptanceWindow;
  /** Keep raw samples at least this long before pruning them (pruning also needs their period closed). */
  keepRawMs?: number;
  /** The worker's clock (ingestion times, price registration); tests inject one. Never used to accept samples. */
  now?: () => number;
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
  /** PostgreSQL: how long the ledger may send nothing while a call waits before its connection is dropped. */
  ledgerAnswerTimeoutMs?: number;
  /** How often a non-TTY worker logs its progress. */
  progressIntervalMs?: number;
  /** SQLite: run transactions on the main thread instead of the ledger thread. */
  inlineLedger?: boolean;
  /** Serve Prometheus metrics here (`--metrics HOST:PORT`). */
  metrics?: MetricsAddress;
}

export interface WorkerSummary {
  inserted: number;
  duplicates: number;
  dlq: number;
  batches: number;
}

/**
 * Up to 8 MiB a partition per fetch (about 30,000 agent samples): when the worker catches up, each
 * transaction's fixed costs (the rollup upserts, about one a machine, and the commit of their pages)
 * are spread over twice as many samples as at 4 MiB: 7.2-7.4 instead of 10.2-10.8 us of CPU a sample
 * (bench:worker). At the live rate batches stay small either way.
 */
const DEFAULT_MAX_BYTES_PER_PARTITION = 8 * 1024 * 1024;

/**
 * How long a stop may spend saying goodbye to Kafka: the last offset commit, leaving the group and
 * closing the clients. A broker that does not answer (a network cut, a hung broker) held a stop for a
 * minute, two request timeouts, without a word. The ledger holds every offset either way; what is
 * skipped only tells Kafka later (the group moves the partitions after its session timeout).
 */
export const GOODBYE_MS = 10_000;

/**
 * How long a stop waits for the ledger to finish the batches in hand. A PostgreSQL connection lost
 * without a word (a processor host cut off while the server ended its session) never answers, and
 * held a stop until it was killed. What is not finished is not lost: the ledger commits a batch with
 * its offset or not at all, and whoever holds the partition next reads the rest again.
 */
export const LEDGER_STOP_MS = 10_000;

/** Waits for `work` until `deadline` (epoch ms); true when it settled in time. */
async function settledBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The topic's log offsets and the group's committed offsets, through the admin client. */
function kafkaOffsetsReader(admin: Admin, group: string, topic: string): KafkaOffsetsReader {
  return {
    async committed() {
      const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return (offsets?.partitions ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset), metadata: p.metadata ?? null }));
    },
    async logOffsets() {
      const logs = new Map<number, LogOffsets>();
      for (const p of await admin.fetchTopicOffsets(topic)) logs.set(p.partition, { low: Number(p.low), high: Number(p.high) });
      return logs;
    },
  };
}

export async function runWorker(options: WorkerOptions): Promise<WorkerSummary> {
  const { logger, topic, group } = options;
  // Before any await: a signal that arrives while connecting still stops the worker cleanly.
  const stopSignal = options.stopSignal ?? shutdownRequested();
  const target = ledgerTarget(options.ledger);
  const stats = new WorkerStats();
  // First, so a port in use is one line before the ledger or the group is touched.
  const metricsServer: MetricsServer | undefined = options.metrics
    ? await (await import('./worker-metrics.js')).serveWorkerMetrics(options.metrics, stats, { group, topic }, logger)
    : undefined;
  // The main thread's connection: migrations, the rate card, offsets and identity.
  let ledger: Ledger;
  try {
    ledger = await openLedger(target, { applicationName: `meter-worker-${group}`, answerTimeoutMs: options.ledgerAnswerTimeoutMs ?? ANSWER_TIMEOUT_MS });
  } catch (error) {
    await metricsServer?.close();
    throw error;
  }
  const start: StartContext = {
    connection: options.connection,
    topic,
    dlqTopic: dlqTopicFor(topic),
    group,
    partitions: options.partitions,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
  };
  /** Runs one start-up step; its failure becomes one line naming what failed. */
  const step = async <T>(name: StartStep, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw await startUpError(name, error, start);
    }
  };
  const kafka: Kafka = createKafka(options.connection, logger);
  const admin: Admin = kafka.admin();
  let writer: LedgerWriter | undefined;
  let producer: Producer | undefined;
  let supervisor: ConsumerSupervisor | undefined;
  let recovery: PartitionRecovery | undefined;
  let pipeline: BatchPipeline | undefined;
  let progress: Progress | undefined;
  /** When the goodbye to Kafka must be over (from the stop's drain, or from a failure's clean-up), and whether a step of it was cut short. */
  let goodbyeBy: number | undefined;
  let goodbyeCut = false;
  let ledgerBy: number | undefined;
  let ledgerCut = false;
  let pruner: Pruner | undefined;
  let fatal: ((error: Error) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (fatal = reject));
  failed.catch(() => {});
  const fail = (error: Error) => fatal?.(error);
  try {
    const clock = options.now ?? Date.now;
    const prices = await registerWorkerRates(ledger, options.rateCard, options.explicitRates ?? false, clock());
    if (prices.added) logger.info('rate card registered as a price version', { digest: prices.version.digest, effective: new Date(prices.version.effectiveFrom).toISOString() });
    const acceptance = options.acceptance ?? DEFAULT_ACCEPTANCE_WINDOW;
    const preparer = new BatchPreparer(acceptance);
    preparer.prunedBefore = (await ledger.pruneState()).prunedBefore;
    writer =
      target.engine === 'sqlite' && !options.inlineLedger ? await ThreadLedgerWriter.start(target.location) : new InlineLedgerWriter(ledger);
    await step('connect', () => admin.connect());
    await step('topic', () => ensureTopic(admin, topic, options.partitions, logger));
    await step('dlq-topic', () => ensureTopic(admin, start.dlqTopic, 1, logger));
    const dlqProducer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    producer = dlqProducer;
    await step('producer', () => dlqProducer.connect());

    // Every call goes to whichever consumer the supervisor runs now (none between a crash and its replacement).
    const consumerCall = (what: string, call: (c: NonNullable<ConsumerSupervisor['current']>) => void) => {
      const consumer = supervisor?.current;
      if (!consumer) return;
      try {
        call(consumer);
      } catch (error) {
        logger.debug(`${what} failed`, { error: errorMessage(error) });
      }
    };
    const seek = (partition: number, offset: number) => consumerCall('seek', (c) => c.seek({ topic, partition, offset: String(offset) }));
    const committer = new OffsetCommitter({
      topic,
      metadata: encodeLedgerMetadata(ledger.identity),
      commit: async (offsets) => {
        const consumer = supervisor?.current;
        if (consumer) await consumer.commitOffsets(offsets);
        else throw new Error('no consumer');
      },
      logger,
    });
    const offsetsReader = kafkaOffsetsReader(admin, group, topic);
    recovery = new PartitionRecovery({
      group,
      topic,
      ledger,
      kafka: offsetsReader,
      committer,
      control: {
        seek,
        pause: (partition) => consumerCall('pause', (c) => c.pause([{ topic, partitions: [partition] }])),
        resume: (partition) => consumerCall('resume', (c) => c.resume([{ topic, partitions: [partition] }])),
      },
      logger,
      fatal: fail,
      onAdmitted: (partition, nextOffset) => {
        stats.lag.ledgerAdmitted(partition, nextOffset);
        pipeline?.admitted(partition, nextOffset);
      },
    });
    const partitionRecovery = recovery;
    stats.stoppedPartitions = () => partitionRecovery.stopped();
    pipeline = new BatchPipeline({
      group,
      topic,
      preparer,
      writer,
      sendToDlq: (partition, rejects) => sendToDlq(dlqProducer, topic, partition, rejects),
      committer,
      recovery,
      seek,
      ledgerOffset: (partition) => ledger.nextOffset(group, topic, partition),
      logOffsets: () => offsetsReader.logOffsets(),
      stats,
      logger,
      fatal: fail,
      onBatch: options.onBatch,
      now: clock,
    });
    supervisor = new ConsumerSupervisor({
      kafka,
      group,
      topic,
      maxBytesPerPartition: options.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
      sessionTimeoutMs: start.sessionTimeoutMs,
      partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, 8)),
      eachBatch: pipeline.eachBatch as never,
      onAssigned: (partitions, why) => {
        committer.setAssigned(partitions);
        if (why === 'rebalance') stats.assigned(partitions);
        else {
          stats.consumerRestarts++;
          stats.lag.assign(partitions);
        }
        partitionRecovery.assign(partitions);
      },
      logger,
    });
    const consumers = supervisor;
    await step('join', () => consumers.start());
    logger.info('worker started', {
      group,
      topic,
      ledger: ledger.identity.name,
      engine: ledger.engine,
      prices: `${describeRateCard(prices.version.card)}, version ${prices.version.digest.slice(0, 12)} (effective ${new Date(prices.version.effectiveFrom).toISOString()})`,
      acceptAheadMs: acceptance.aheadMs,
      acceptBackHours: acceptance.backMs / 3_600_000,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
    });
    progress = new Progress({
      group,
      topic,
      stats,
      readLogEnds: async () => new Map([...(await offsetsReader.logOffsets())].map(([p, log]) => [p, log.high])),
      logger,
      statusLine: options.statusLine,
      intervalMs: options.progressIntervalMs,
    });
    progress.start();
    pruner = new Pruner(ledger, { window: acceptance, keepRawMs: options.keepRawMs }, logger);
    pruner.start();

    let stoppedBy: unknown;
    try {
      stoppedBy = await Promise.race([stopSignal, failed]);
    } catch (error) {
      if (error instanceof MeterError) throw error;
      throw new MeterError(`the consumer stopped: ${errorMessage(error)}; the ledger is consistent, start the worker again`);
    }
    progress.stop();
    logger.info('stopping: finishing the batches in hand, then leaving the group', { signal: String(stoppedBy) });
    // Stop fetching, let the batches in hand reach the ledger, tell Kafka, then leave the group.
    pipeline.stop();
    supervisor.pauseAll();
    ledgerBy = Date.now() + LEDGER_STOP_MS;
    if (!(await settledBy(pipeline.drain(), ledgerBy))) ledgerCut = true;
    goodbyeBy = Date.now() + GOODBYE_MS;
    if (!(await settledBy(committer.flush(), goodbyeBy))) goodbyeCut = true;
  } finally {
    progress?.stop();
    await metricsServer?.close();
    pipeline?.stop();
    recovery?.close();
    const inHand = Promise.all([pipeline?.drain(), pruner?.stop()]);
    if (!(await settledBy(inHand, (ledgerBy ??= Date.now() + LEDGER_STOP_MS)))) ledgerCut = true;
    if (ledgerCut) {
      logger.warn(`the ledger did not finish the batches in hand within ${LEDGER_STOP_MS / 1000} s of the stop: stopped without them`, {
        ledger: 'commits a batch with its offset or not at all; the rest is read again from its offsets',
      });
    }
    const goodbye = (async () => {
      await supervisor?.stop();
      await producer?.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    })();
    if (!(await settledBy(goodbye, (goodbyeBy ??= Date.now() + GOODBYE_MS)))) goodbyeCut = true;
    if (goodbyeCut) {
      logger.warn(`Kafka did not answer within ${GOODBYE_MS / 1000} s of the stop: stopped without committing the last offsets to it or leaving the group`, {
        ledger: 'holds every offset applied; the next start resumes from it',
        group: 'moves the partitions to the other workers after its session timeout',
      });
    }
    // A ledger that left batches unfinished holds their connections: closing it would wait for them.
    const closed = (async () => {
      await writer?.close().catch(() => {});
      await ledger.close();
    })();
    await settledBy(closed, Date.now() + (ledgerCut ? 1000 : LEDGER_STOP_MS));
  }
  const summary = { inserted: stats.inserted, duplicates: stats.duplicates, dlq: stats.dlq, batches: stats.batches };
  logger.info('worker stopped', { ...summary });
  return summary;
}
