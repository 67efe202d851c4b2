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

/** Produces messages with `kcat -P`, one per line: `key|value` lines, or keyless values when key is null. */
export function kcatProduce(brokers: string, topic: string, messages: { key: string | null; value: string }[]): void {
  const keyed = messages.filter((m) => m.key !== null);
  const keyless = messages.filter((m) => m.key === null);
  const run = (args: string[], input: string) => {
    const r = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, ...args], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`kcat -P failed: ${r.stderr}`);
  };
  if (keyed.length) run(['-K', '|'], keyed.map((m) => `${m.key}|${m.value}`).join('\n') + '\n');
  if (keyless.length) run([], keyless.map((m) => m.value).join('\n') + '\n');
}

/** Each partition's end offset (the next offset to be written), with `kcat -Q` (timestamp -1 is the log's end). */
export function kcatEndOffsets(brokers: string, topic: string, partitions: number): Map<number, number> {
  const args = ['-Q', '-b', brokers];
  for (let p = 0; p < partitions; p++) args.push('-t', `${topic}:${p}:-1`);
  const r = spawnSync('kcat', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`kcat -Q failed (${r.status}): ${r.stderr}`);
  const ends = new Map<number, number>();
  for (const m of r.stdout.matchAll(/\[(\d+)\]\s+offset\s+(-?\d+)/g)) ends.set(Number(m[1]), Number(m[2]));
  if (ends.size !== partitions) throw new Error(`kcat -Q answered for ${ends.size} of ${partitions} partitions: ${r.stdout}`);
  return ends;
}
