// The agent's Prometheus metrics (`meter agent --metrics HOST:PORT`). Values are read from the
// running agent when scraped; only the publish latency is observed as it happens.
import { Histogram, Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import type { MetricsAddress } from '../metrics/address.js';
import { mirroredCounter, readGauge } from '../metrics/collectors.js';
import { serveMetrics, type MetricsServer } from '../metrics/server.js';
import type { AgentStats } from './agent-stats.js';

export function agentRegistry(stats: AgentStats): Registry {
  const registry = new Registry();
  mirroredCounter(registry, 'meter_agent_samples_taken_total', 'Samples taken and spooled', () => stats.samplesTaken);
  mirroredCounter(registry, 'meter_agent_samples_published_total', 'Samples acknowledged by Kafka (acks=all)', stats.samplesPublished);
  mirroredCounter(registry, 'meter_agent_spool_dropped_total', 'Samples dropped at the spool bound (oldest first)', stats.droppedAtBound);
  mirroredCounter(registry, 'meter_agent_spool_recovery_lost_total', 'Torn or damaged spool records cut when the agent started', stats.lostInRecovery);
  mirroredCounter(registry, 'meter_agent_clock_steps_total', 'Wall-clock steps seen (NTP or manual), absorbed by the window rule', stats.clockSteps);
  readGauge(registry, 'meter_agent_spool_bytes', 'Bytes on disk in the spool', stats.spoolBytes);
  readGauge(registry, 'meter_agent_spool_records', 'Samples in the spool not yet acknowledged by Kafka', stats.spoolRecords);
  readGauge(registry, 'meter_agent_last_publish_timestamp_seconds', 'When Kafka last acknowledged a send (unix seconds; 0 before the first)', () => stats.lastPublishMs() / 1000);
  readGauge(registry, 'meter_agent_broker_connected', '1 while the broker answers, 0 during an outage', () => (stats.brokerConnected() ? 1 : 0));
  const latency = new Histogram({
    name: 'meter_agent_publish_latency_seconds',
    help: 'Time from sending a batch to Kafka acknowledging it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  stats.observePublish = (seconds) => latency.observe(seconds);
  return registry;
}

export function serveAgentMetrics(address: MetricsAddress, stats: AgentStats, logger: Logger): Promise<MetricsServer> {
  return serveMetrics(address, agentRegistry(stats), logger);
}
