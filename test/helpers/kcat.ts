// Debian's kcat: a real, independent Kafka client, used to check what actually went over the wire.
import { spawnSync } from 'node:child_process';

export interface WireMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers: Record<string, string>;
}

/**
 * Reads every message on the topic when it is called: each partition from its first offset up to the
 * end it had then, read with `kcat -C -J` bounded by a count. A plain `kcat -e` races a producer that
 * keeps writing (it exits only when every partition is at its end at once): reading a topic an agent
 * writes twice a second took 1-20 s here, and sometimes never finished.
 */
export function kcatReadTopic(brokers: string, topic: string, timeoutMs = 30_000): WireMessage[] {
  const deadline = Date.now() + timeoutMs;
  const partitions = kcatPartitions(brokers, topic, timeoutMs);
  const left = () => Math.max(1, deadline - Date.now());
  const firsts = kcatOffsets(brokers, topic, partitions, -2, left());
  const ends = kcatOffsets(brokers, topic, partitions, -1, left());
  const messages: WireMessage[] = [];
  for (let p = 0; p < partitions; p++) {
    const first = firsts.get(p)!;
    const count = ends.get(p)! - first;
    if (count <= 0) continue;
    const args = ['-C', '-b', brokers, '-t', topic, '-p', String(p), '-o', String(first), '-c', String(count), '-e', '-q', '-J'];
    const result = spawnSync('kcat', args, { encoding: 'utf8', timeout: left(), maxBuffer: 1 << 30 });
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`kcat failed (${result.status}): ${result.stderr}`);
    for (const line of result.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const m = JSON.parse(line) as Omit<WireMessage, 'headers'> & { headers?: string[] };
      const headers: Record<string, string> = {};
      const h = m.headers ?? [];
      for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = h[i + 1]!;
      messages.push({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, payload: m.payload, headers });
    }
  }
  return messages;
}

/** How many partitions the topic has (`kcat -L -J`); throws when the broker does not know it. */
function kcatPartitions(brokers: string, topic: string, timeoutMs: number): number {
  const r = spawnSync('kcat', ['-L', '-J', '-b', brokers, '-t', topic], { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kcat -L failed (${r.status}): ${r.stderr}`);
  const found = (JSON.parse(r.stdout) as { topics: { topic: string; error?: string; partitions: unknown[] }[] }).topics.find((t) => t.topic === topic);
  if (!found || found.error || found.partitions.length === 0) throw new Error(`kcat -L: no topic ${topic} (${found?.error ?? 'not listed'})`);
  return found.partitions.length;
}

/** Produces messages with `kcat -P`, one per line: `key|value` lines, or keyless values when key is null. */
export function kcatProduce(
  brokers: string,
  topic: string,
  messages: { key: string | null; value: string }[],
  options: { batchMessages?: number } = {},
): void {
  const keyed = messages.filter((m) => m.key !== null);
  const keyless = messages.filter((m) => m.key === null);
  // librdkafka packs up to 10,000 messages into a record batch; a fetch returns whole record batches.
  const batching = options.batchMessages ? ['-X', `batch.num.messages=${options.batchMessages}`] : [];
  const run = (args: string[], input: string) => {
    const r = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, ...batching, ...args], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`kcat -P failed: ${r.stderr}`);
  };
  if (keyed.length) run(['-K', '|'], keyed.map((m) => `${m.key}|${m.value}`).join('\n') + '\n');
  if (keyless.length) run([], keyless.map((m) => m.value).join('\n') + '\n');
}

/** Each partition's end offset (the next offset to be written), with `kcat -Q` (timestamp -1 is the log's end). */
export function kcatEndOffsets(brokers: string, topic: string, partitions: number): Map<number, number> {
  return kcatOffsets(brokers, topic, partitions, -1);
}

/** Each partition's offset at a `kcat -Q` timestamp: -1 the log's end, -2 its first offset still kept. */
function kcatOffsets(brokers: string, topic: string, partitions: number, at: -1 | -2, timeoutMs = 30_000): Map<number, number> {
  const args = ['-Q', '-b', brokers];
  for (let p = 0; p < partitions; p++) args.push('-t', `${topic}:${p}:${at}`);
  const r = spawnSync('kcat', args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kcat -Q failed (${r.status}): ${r.stderr}`);
  const offsets = new Map<number, number>();
  for (const m of r.stdout.matchAll(/\[(\d+)\]\s+offset\s+(-?\d+)/g)) offsets.set(Number(m[1]), Number(m[2]));
  if (offsets.size !== partitions) throw new Error(`kcat -Q answered for ${offsets.size} of ${partitions} partitions: ${r.stdout}`);
  return offsets;
}
