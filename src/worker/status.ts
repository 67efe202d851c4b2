// What the worker tells its operator on a TTY: one status line redrawn in place (samples/s, lag, DLQ),
// from the same WorkerSnapshot as the JSON progress log (progress.ts). Log lines on a TTY go through
// statusAwareStream(), which lifts the status line out of the way and puts it back, so the two never
// garble each other.

import { thousands, truncate } from '../format/index.js';
import type { WorkerSnapshot } from './worker-stats.js';

const group = (n: number) => thousands(Math.round(n));

/** The one-line status: `billing <- resource_usage  1,234 samples/s  lag 56  dlq 3  new 12,345  dup 7  partitions 0,1`. */
export function statusLine(group_: string, topic: string, s: WorkerSnapshot, width: number): string {
  const stopped = new Set(s.stoppedPartitions);
  const partitions = s.partitions.map((p) => (stopped.has(p.partition) ? `${p.partition}(stopped)` : String(p.partition))).join(',') || '-';
  const line =
    `${group_} <- ${topic}  ${group(s.samplesPerSecond)} samples/s  lag ${group(s.lag)}  dlq ${group(s.dlq)}` +
    `  new ${group(s.inserted)}  dup ${group(s.duplicates)}  partitions ${partitions}`;
  return truncate(line, width);
}

type Writable = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Redraws a status line at the bottom of a TTY. */
export class StatusLine {
  private current = '';

  constructor(private readonly stream: Writable) {}

  get width(): number {
    return (this.stream.columns || 80) - 1;
  }

  draw(line: string): void {
    this.current = line;
    this.stream.write(`\r\x1b[K${line}`);
  }

  clear(): void {
    if (this.current) this.stream.write('\r\x1b[K');
    this.current = '';
  }

  /** A stream for the logger: each write clears the status line first and redraws it after. */
  statusAwareStream(): Writable {
    const write = (chunk: string | Uint8Array): boolean => {
      const line = this.current;
      if (line) this.stream.write('\r\x1b[K');
      this.stream.write(chunk);
      if (line) this.stream.write(line);
      return true;
    };
    return Object.assign(Object.create(this.stream) as Writable, { write, isTTY: true });
  }
}
