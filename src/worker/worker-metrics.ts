// The worker's Prometheus metrics (`meter worker --metrics HOST:PORT`). Values are read from the
// running worker's WorkerStats when scraped, the same numbers as its status line and progress log;
// only transaction latency is observed as it happens.
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { MetricsAddress } from '../metrics/address.js';
import { mirroredCounter, mirroredLabelledCounter, readGauge, readLabelledGauge } from '../metrics/collectors.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';
import type { PartitionLag } from './lag.js';
import type { WorkerStats } from './worker-stats.js';

export function workerRegistry(stats: WorkerStats, labels: { group: string; topic: string }): Registry {
  const registry = new Registry();
  // Every series names the group and topic, so lag can be summed per group across the workers that share it.
  registry.setDefaultLabels(labels);
  const counter = (name: string, help: string, read: () => number) => mirroredCounter(registry, name, help, read);
  const gauge = (name: string, help: string, read: () => number) => readGauge(registry, name, help, read);
  const perPartition = (name: string, help: string, read: (p: PartitionLag) => number | undefined) =>
    readLabelledGauge(registry, name, help, 'partition', () =>
      stats.lag.all().flatMap((p) => {
        const v = read(p);
        return v === undefined ? [] : [[String(p.partition), v] as [string, number]];
      }),
    );

  counter('meter_worker_samples_inserted_total', 'New samples written to the ledger', () => stats.inserted);
  counter('meter_worker_samples_duplicate_total', 'Samples the ledger already had (duplicates, agent replays), billed once', () => stats.duplicates);
  mirroredLabelledCounter(registry, 'meter_worker_dlq_messages_total', 'Invalid messages sent to the DLQ and counted in the ledger, by reason', 'reason', () => stats.dlqByReason);
  counter('meter_worker_batches_total', 'Batch transactions committed to the ledger', () => stats.batches);
  counter('meter_worker_ledger_errors_total', 'Batch transactions that failed (retried from the ledger offset)', () => stats.ledgerErrors);
  counter('meter_worker_batches_refused_total', 'Batches the ledger refused because one before them was not applied (read again)', () => stats.batchesRefused);
  counter('meter_worker_rebalances_total', 'Partition assignments received from the consumer group (the first included)', () => stats.rebalances);
  counter('meter_worker_consumer_restarts_total', 'Kafka consumers rebuilt after the client gave up on one', () => stats.consumerRestarts);
  perPartition('meter_worker_lag_messages', "The topic's end offset minus the ledger's next offset, per partition held", (p) => p.lag);
  perPartition('meter_worker_ledger_next_offset', "The ledger's next offset, per partition held", (p) => p.ledgerNext);
  perPartition('meter_worker_log_end_offset', "The topic's end offset as last read, per partition held", (p) => p.logEnd);
  gauge('meter_worker_partitions_assigned', 'Partitions of the topic this worker holds', () => stats.lag.partitions().length);
  gauge('meter_worker_partitions_stopped', "Partitions stopped because their log ends behind the ledger's offset (see meter ledger offsets)", () => stats.stoppedPartitions().size);
  gauge('meter_worker_last_batch_timestamp_seconds', 'When the last batch was committed to the ledger (unix seconds; 0 before the first)', () => stats.lastBatchMs / 1000);
  gauge('meter_worker_broker_connected', "1 while the broker answers the worker's offset reads, 0 when it does not", () => (stats.brokerAnswering ? 1 : 0));
  const latency = new Histogram({
    name: 'meter_worker_transaction_seconds',
    help: 'Duration of each committed batch transaction in the ledger',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  stats.observeTransaction = (seconds) => latency.observe(seconds);
  // The process itself (CPU, memory, event-loop delay), prom-client's standard set.
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function serveWorkerMetrics(address: MetricsAddress, stats: WorkerStats, labels: { group: string; topic: string }, logger: Logger): Promise<MetricsServer> {
  return serveMetrics(address, workerRegistry(stats, labels), logger);
}
