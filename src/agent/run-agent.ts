// `meter agent`: sample every interval, spool, publish. Sampling never waits on Kafka: a sample goes
// to the on-disk spool first and the publisher drains the spool in the background.
import { MeterError } from '../cli/errors.js';
import { shutdownRequested } from '../cli/shutdown.js';
import { createKafka, type KafkaConnection } from '../kafka/client.js';
import { setupError } from '../kafka/problems.js';
import type { Logger } from '../log/logger.js';
import type { AgentStats } from './agent-stats.js';
import { systemClock, type Clock } from './clock.js';
import { hostCounters } from './host-counters.js';
import { warnIfKafkajsUnpatched } from './kafkajs-patch.js';
import { Publisher } from './publisher.js';
import { fleetSource, hostSource, sampleIntoSpool, type SampleSource } from './sample-source.js';
import { Spool } from './spool.js';

export interface AgentOptions {
  connection: KafkaConnection;
  topic: string;
  partitions: number;
  intervalMs: number;
  machine: string;
  labels: Record<string, string>;
  spoolDir: string;
  spoolMaxBytes: number;
  /** Number of virtual machines; 0 meters this host. */
  simulate: number;
  /** The virtual machines' samples are spread over the interval, instead of all at one instant. */
  simulateSpread?: boolean;
  logger: Logger;
  /** Serve Prometheus metrics here (`--metrics HOST:PORT`). */
  metrics?: { host: string; port: number };
  /** Resolves when the agent should stop (a signal); defaults to SIGINT/SIGTERM. */
  stopSignal?: Promise<unknown>;
  clock?: Clock;
}

const SHUTDOWN_FLUSH_MS = 3000;

/** The spool, or a one-line error when its directory cannot be used (permissions, a file in the way). */
function openSpool(dir: string, maxBytes: number, logger: Logger): Spool {
  try {
    return Spool.open(dir, { maxBytes, logger });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!code) throw error;
    throw new MeterError(`--spool: cannot use ${dir} (${code}: ${(error as Error).message.split(',')[0]!.replace(`${code}: `, '')}); give a directory this user can write`, 2);
  }
}

export async function runAgent(options: AgentOptions): Promise<void> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  warnIfKafkajsUnpatched(logger);
  const spool = openSpool(options.spoolDir, options.spoolMaxBytes, logger);
  if (spool.pending > 0) logger.info('spool holds samples from an earlier run; they go first', { pending: spool.pending });

  // The publisher says once per outage that it is spooling; kafkajs's per-retry errors would flood.
  const kafka = createKafka(options.connection, logger, { quiet: true });
  const stats: AgentStats = {
    samplesTaken: 0,
    samplesPublished: () => publisher.published,
    spoolBytes: () => spool.bytes,
    spoolRecords: () => spool.pending,
    droppedAtBound: () => spool.dropped,
    lostInRecovery: () => spool.lostInRecovery,
    lastPublishMs: () => publisher.lastPublishMs,
    brokerConnected: () => publisher.connected,
    clockSteps: () => source.clockSteps,
    observePublish: undefined,
  };
  const publisher = new Publisher({
    kafka,
    spool,
    topic: options.topic,
    partitions: options.partitions,
    logger,
    batchSize: options.simulate > 0 ? 2000 : 500,
    onPublished: (seconds) => stats.observePublish?.(seconds),
    diagnose: (error) => setupError(error, options.connection),
  });

  const source: SampleSource =
    options.simulate > 0
      ? fleetSource({ count: options.simulate, labels: options.labels, logger, clock, intervalMs: options.intervalMs, spread: options.simulateSpread })
      : await hostSource(spool, { machine: options.machine, labels: options.labels, counters: await hostCounters(), logger, clock });

  const metricsServer = options.metrics ? await (await import('./agent-metrics.js')).serveAgentMetrics(options.metrics, stats, logger) : undefined;

  logger.info('agent started', {
    machine: options.simulate > 0 ? `${options.simulate} simulated` : options.machine,
    topic: options.topic,
    brokers: options.connection.brokers.join(','),
    intervalSeconds: options.intervalMs / 1000,
    spool: options.spoolDir,
    ...(metricsServer ? { metrics: metricsServer.url } : {}),
  });
  publisher.start();

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();

  const sampleOnce = async () => {
    stats.samplesTaken += await sampleIntoSpool(source, spool);
    publisher.notify();
    logger.debug('sampled', { pending: spool.pending });
  };

  // Due times on the monotonic clock, counted from the start rather than chained, so the schedule
  // neither drifts nor follows a wall-clock step. A tick that overran skips the times it missed.
  // A spread simulated fleet takes a part of its machines at each of several ticks an interval.
  const startedAt = clock.monoMs();
  const periodMs = options.intervalMs / source.takesPerInterval;
  let tick = 0;
  const schedule = () => {
    const now = clock.monoMs();
    tick = Math.max(tick + 1, Math.ceil((now - startedAt) / periodMs));
    const due = startedAt + tick * periodMs;
    timer = setTimeout(() => {
      ticking = sampleOnce().catch((error: Error) => logger.error('sampling failed', { error: error.message }));
      void ticking.then(() => {
        if (!stopping) schedule();
      });
    }, Math.max(0, due - now));
  };
  schedule();

  // A set-up problem (refused credentials, TLS) ends the agent: retrying cannot fix it. The samples
  // spooled so far stay for the next start.
  let setupFailure: unknown;
  await Promise.race([options.stopSignal ?? shutdownRequested(), publisher.failed.catch((error: unknown) => (setupFailure = error))]);
  stopping = true;
  clearTimeout(timer);
  await ticking;
  logger.info('stopping: flushing spooled samples', { pending: spool.pending });
  await publisher.stop(SHUTDOWN_FLUSH_MS);
  await metricsServer?.close();
  spool.close();
  logger.info('agent stopped', {
    published: publisher.published,
    leftInSpool: spool.pending,
    ...(spool.dropped ? { droppedAtBound: spool.dropped } : {}),
  });
  if (setupFailure) throw setupFailure;
}
