// The dead-letter queue, read back: `meter dlq list` summarises it by reason beside the ledger's own
// counts, and `meter dlq replay` feeds its messages back to their source topic after a fix (a wider
// acceptance window, a corrected producer).
//
// Replay is idempotent: a replayed sample keeps its id, so the ledger bills it at most once however
// often it is replayed (the second time it is a duplicate), and keeps its source message's
// timestamp, so it is judged at the same event time as the first time (only the fix changes the
// verdict). The DLQ itself may hold a message twice (a worker that crashed between the DLQ send and
// its ledger commit sends it again), which replay handles the same way.
import type { IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { DLQ_HEADERS, dlqTopicFor } from './dlq.js';

const text = (value: Buffer | string | (Buffer | string)[] | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? text(value[0]) : value.toString();

/**
 * Reads every message of `topic` that is there now (up to each partition's end offset when it
 * starts), with a throwaway consumer group that is deleted afterwards.
 */
export async function readWholeTopic(kafka: Kafka, topic: string, onMessage: (message: KafkaMessage, partition: number) => void): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `meter-dlq-reader-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  let read = 0;
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
    const waiting = new Set([...ends].filter(([, o]) => o.high > o.low).map(([p]) => p));
    if (waiting.size === 0) return 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition)!.high;
            for (const message of batch.messages) {
              if (Number(message.offset) >= end) break;
              onMessage(message, batch.partition);
              read++;
            }
            if (Number(batch.lastOffset()) >= end - 1) waiting.delete(batch.partition);
            if (waiting.size === 0) resolve();
          },
        })
        .catch(reject);
    });
    return read;
  } finally {
    await consumer.disconnect().catch(() => {});
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

export interface DlqReason {
  reason: string;
  /** Messages on the DLQ with this reason (repeats included). */
  onDlq: number;
  /** What the ledger counted (each invalid message once). */
  inLedger: number;
  /** The latest message's reason, in words. */
  lastDetail: string;
  /** Source topics, partitions and offsets: the first and last. */
  first?: string;
  last?: string;
}

/** The DLQ of `sourceTopic` by reason, beside the ledger's counts. */
export async function summariseDlq(kafka: Kafka, sourceTopic: string, ledgerCounts: { reason: string; count: number; lastDetail: string; topic: string }[]): Promise<DlqReason[]> {
  const byReason = new Map<string, DlqReason>();
  const row = (reason: string) => {
    let r = byReason.get(reason);
    if (!r) byReason.set(reason, (r = { reason, onDlq: 0, inLedger: 0, lastDetail: '' }));
    return r;
  };
  await readWholeTopic(kafka, dlqTopicFor(sourceTopic), (m) => {
    const h = m.headers ?? {};
    const r = row(text(h[DLQ_HEADERS.code]) ?? '(no reason header)');
    r.onDlq++;
    r.lastDetail = text(h[DLQ_HEADERS.reason]) ?? r.lastDetail;
    const where = `${text(h[DLQ_HEADERS.topic]) ?? '?'}/${text(h[DLQ_HEADERS.partition]) ?? '?'}@${text(h[DLQ_HEADERS.offset]) ?? '?'}`;
    r.first ??= where;
    r.last = where;
  });
  for (const c of ledgerCounts) {
    if (c.topic !== sourceTopic) continue;
    const r = row(c.reason);
    r.inLedger += c.count;
    if (!r.lastDetail) r.lastDetail = c.lastDetail;
  }
  return [...byReason.values()].sort((a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/** A DLQ message as it goes back to its source topic: its own key, value, headers and timestamp. */
export function replayMessage(m: KafkaMessage, dlqOffset: string): { topic: string; message: { key: Buffer | null; value: Buffer | null; headers: IHeaders; timestamp?: string } } | undefined {
  const h = m.headers ?? {};
  const topic = text(h[DLQ_HEADERS.topic]);
  if (!topic) return undefined;
  const headers: IHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!k.startsWith('meter-') && v !== undefined) headers[k] = v;
  headers['meter-replayed-from-dlq-offset'] = dlqOffset;
  const timestamp = text(h[DLQ_HEADERS.timestamp]);
  return { topic, message: { key: m.key, value: m.value, headers, ...(timestamp && /^\d+$/.test(timestamp) ? { timestamp } : {}) } };
}

/** Feeds the DLQ's messages (of `reason`, or all) back to their source topics; returns how many by reason. */
export async function replayDlq(kafka: Kafka, producer: Producer, sourceTopic: string, reason?: string): Promise<Map<string, number>> {
  const out: NonNullable<ReturnType<typeof replayMessage>>[] = [];
  const counts = new Map<string, number>();
  await readWholeTopic(kafka, dlqTopicFor(sourceTopic), (m) => {
    const code = text(m.headers?.[DLQ_HEADERS.code]) ?? '(no reason header)';
    if (reason !== undefined && code !== reason) return;
    const replay = replayMessage(m, m.offset);
    if (!replay) return;
    out.push(replay);
    counts.set(code, (counts.get(code) ?? 0) + 1);
  });
  for (let i = 0; i < out.length; i += 500) {
    const chunk = out.slice(i, i + 500);
    const byTopic = new Map<string, typeof chunk>();
    for (const r of chunk) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, rs]) => ({ topic, messages: rs.map((r) => r.message) })) });
  }
  return counts;
}
