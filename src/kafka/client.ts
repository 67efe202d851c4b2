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

/** `quiet`: kafkajs's own errors go to debug, for callers that report broker trouble themselves. */
export function createKafka(connection: KafkaConnection, logger: Logger, options: { quiet?: boolean } = {}): Kafka {
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: connection.ssl,
    sasl: connection.sasl as SASLOptions | undefined,
    logCreator: kafkaLogCreator(logger, options),
    connectionTimeout: 3000,
    requestTimeout: 30000,
    // Our callers decide how long to keep trying; kafkajs's own retry is kept short.
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
  });
}

/**
 * Creates the topic when it is missing. Several agents and workers may race to create it, so
 * "already exists" is success.
 */
export async function ensureTopic(admin: Admin, topic: string, partitions: number, logger: Logger): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.includes(topic)) return;
  try {
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }],
    });
    if (created) logger.info('created topic', { topic, partitions });
  } catch (error) {
    const type = (error as { type?: string }).type;
    if (type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
}
