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

/** Reads every message now on the topic (all partitions, from the beginning) with `kcat -C -e -J`. */
export function kcatReadTopic(brokers: string, topic: string, timeoutMs = 30_000): WireMessage[] {
  const result = spawnSync('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 1 << 30,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kcat failed (${result.status}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      const m = JSON.parse(line) as Omit<WireMessage, 'headers'> & { headers?: string[] };
      const headers: Record<string, string> = {};
      const h = m.headers ?? [];
      for (let i = 0; i + 1 < h.length; i += 2) headers[h[i]!] = h[i + 1]!;
      return { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, payload: m.payload, headers };
    });
}

/** Produces `key|value` lines with `kcat -P` (one message per line). */
export function kcatProduce(brokers: string, topic: string, messages: { key: string; value: string }[]): void {
  const input = messages.map((m) => `${m.key}|${m.value}`).join('\n') + '\n';
  const result = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '|'], { input, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kcat failed (${result.status}): ${result.stderr}`);
}
