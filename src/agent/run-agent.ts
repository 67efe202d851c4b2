// `meter agent`: sample every interval, spool, publish. Sampling never waits on Kafka: a sample goes
// to the on-disk spool first and the publisher drains the spool in the background.
import { shutdownRequested } from '../cli/shutdown.js';
import { createKafka, type KafkaConnection } from '../kafka/client.js';
import { setupError } from '../kafka/problems.js';
import type { Logger } from '../log/logger.js';
import { FleetSimulator } from './fleet-simulator.js';
import { hostCounters } from './host-counters.js';
import { HostSampler } from './host-sampler.js';
import { Publisher } from './publisher.js';
import { Spool } from './spool.js';
import type { Sample } from '../schema/sample.js';

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
  logger: Logger;
  /** Resolves when the agent should stop (a signal); defaults to SIGINT/SIGTERM. */
  stopSignal?: Promise<unknown>;
}

const SHUTDOWN_FLUSH_MS = 3000;

/** Where an interval's samples come from: this host, or a simulated fleet. */
interface SampleSource {
  take(): Promise<Sample[]>;
  /** The samples just taken are on disk: the next window may start at their end. */
  spooled(): void;
  close(): void;
}

async function sampleSource(options: AgentOptions): Promise<SampleSource> {
  if (options.simulate > 0) {
    const fleet = new FleetSimulator({ count: options.simulate, start: Date.now(), labels: options.labels });
    options.logger.info('simulating a fleet', { machines: options.simulate, first: fleet.machines[0]?.machine });
    return { take: async () => fleet.next(Date.now()), spooled: () => {}, close: () => {} };
  }
  const sampler = await HostSampler.create({
    machine: options.machine,
    labels: options.labels,
    counters: await hostCounters(),
    stateDir: options.spoolDir,
    logger: options.logger,
  });
  return { take: async () => [await sampler.next()], spooled: () => sampler.commit(), close: () => sampler.close() };
}

export async function runAgent(options: AgentOptions): Promise<void> {
  const { logger } = options;
  const spool = Spool.open(options.spoolDir, { maxBytes: options.spoolMaxBytes, logger });
  if (spool.pending > 0) logger.info('spool holds samples from an earlier run; they go first', { pending: spool.pending });

  // The publisher says once per outage that it is spooling; kafkajs's per-retry errors would flood.
  const kafka = createKafka(options.connection, logger, { quiet: true });
  const publisher = new Publisher({
    kafka,
    spool,
    topic: options.topic,
    partitions: options.partitions,
    logger,
    batchSize: options.simulate > 0 ? 2000 : 500,
    diagnose: (error) => setupError(error, options.connection),
  });

  const source = await sampleSource(options);

  logger.info('agent started', {
    machine: options.simulate > 0 ? `${options.simulate} simulated` : options.machine,
    topic: options.topic,
    brokers: options.connection.brokers.join(','),
    intervalSeconds: options.intervalMs / 1000,
    spool: options.spoolDir,
  });
  publisher.start();

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  const startedAt = Date.now();
  let tick = 0;

  const sampleOnce = async () => {
    const samples = await source.take();
    spool.append(samples.map((s) => ({ key: s.machine, value: JSON.stringify(s) })));
    source.spooled();
    publisher.notify();
    logger.debug('sampled', { samples: samples.length, pending: spool.pending });
  };

  // Scheduled against the start time rather than chained, so the interval does not drift.
  const schedule = () => {
    tick++;
    const due = startedAt + tick * options.intervalMs;
    timer = setTimeout(() => {
      ticking = sampleOnce().catch((error: Error) => logger.error('sampling failed', { error: error.message }));
      void ticking.then(() => {
        if (!stopping) schedule();
      });
    }, Math.max(0, due - Date.now()));
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
  spool.close();
  source.close();
  logger.info('agent stopped', {
    published: publisher.published,
    leftInSpool: spool.pending,
    ...(spool.dropped ? { droppedAtBound: spool.dropped } : {}),
  });
  if (setupFailure) throw setupFailure;
}

