// The one place that builds kafkajs clients, so TLS, SASL and logging are the same in every mode.
import { Kafka, type Admin, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import { kafkaLogCreator, type Logger } from '../log/logger.js';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  ssl?: boolean | ConnectionOptions;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

/**
 * `quiet`: kafkajs's own errors go to debug, for callers that report broker trouble themselves.
 * `connectionTimeoutMs`: how long a TCP connect and TLS handshake may take (3 s by default).
 * `retries`: kafkajs's own retries of a connect or request (5 by default; the admin's and producer's
 * retry options do not cover connecting).
 */
export function createKafka(connection: KafkaConnection, logger: Logger, options: { quiet?: boolean; connectionTimeoutMs?: number; retries?: number } = {}): Kafka {
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: connection.ssl,
    sasl: connection.sasl as SASLOptions | undefined,
    logCreator: kafkaLogCreator(logger, options),
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    // Our callers decide how long to keep trying; kafkajs's own retry is kept short.
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 5000 },
  });
}

/** Errors of a topic that another client is creating right now: its partitions have no leader yet. */
const TOPIC_SETTLING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER']);

/**
 * Creates the topic when it is missing. Several agents and workers may race to create it, so
 * "already exists" is success, and a topic whose leaders are still being elected (another client
 * just made it; slow on a loaded machine) is waited for, a few times.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const existing = await admin.listTopics();
      if (existing.includes(topic)) return;
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }],
      });
      if (created) logger.info('created topic', { topic, partitions });
      return;
    } catch (error) {
      const type = (error as { type?: string }).type ?? '';
      if (type === 'TOPIC_ALREADY_EXISTS') return;
      if (!TOPIC_SETTLING.has(type) || attempt >= 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
