// The dead-letter queue: every message that is not valid Sample v1 goes to `<topic>.dlq` with its
// original key, value and headers, plus headers saying why and where it came from. It is sent (and
// acknowledged by all in-sync replicas) before the batch's ledger transaction commits its offset, so
// a crash in between sends it again rather than losing it: the DLQ may hold duplicates, never gaps.
import type { IHeaders, Producer } from 'kafkajs';
import type { Rejected } from './prepare.js';

export const dlqTopicFor = (topic: string): string => `${topic}.dlq`;

export const DLQ_HEADERS = {
  reason: 'meter-reason',
  code: 'meter-reason-code',
  topic: 'meter-source-topic',
  partition: 'meter-source-partition',
  offset: 'meter-source-offset',
  /** The source message's own timestamp: a replay keeps it, so the sample is judged at the same event time. */
  timestamp: 'meter-source-timestamp',
} as const;

export function dlqMessage(reject: Rejected, topic: string, partition: number) {
  return {
    key: reject.key,
    value: reject.value,
    headers: {
      ...(reject.headers as IHeaders | undefined),
      [DLQ_HEADERS.reason]: reject.reason,
      [DLQ_HEADERS.code]: reject.code,
      [DLQ_HEADERS.topic]: topic,
      [DLQ_HEADERS.partition]: String(partition),
      [DLQ_HEADERS.offset]: String(reject.offset),
      ...(reject.timestamp !== undefined ? { [DLQ_HEADERS.timestamp]: reject.timestamp } : {}),
    },
  };
}

export async function sendToDlq(
  producer: Producer,
  topic: string,
  partition: number,
  rejects: Rejected[],
): Promise<void> {
  if (rejects.length === 0) return;
  await producer.send({
    topic: dlqTopicFor(topic),
    acks: -1,
    messages: rejects.map((r) => dlqMessage(r, topic, partition)),
  });
}
