// What the worker tells its operator: on a TTY, one status line redrawn in place (samples/s, lag, DLQ);
// otherwise a JSON progress line every so often. Log lines on a TTY go through statusAwareStream(),
// which lifts the status line out of the way and puts it back, so the two never garble each other.

import { thousands, truncate } from '../format/index.js';

export interface WorkerCounters {
  /** New samples written to the ledger since start. */
  inserted: number;
  duplicates: number;
  dlq: number;
  batches: number;
  /** Offset lag per partition, from the latest batch of each. */
  lag: Map<number, number>;
}

/** Samples per second over a sliding window of recent observations. */
export class RateMeter {
  private readonly points: { t: number; n: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  observe(total: number, now = Date.now()): void {
    this.points.push({ t: now, n: total });
    while (this.points.length > 2 && this.points[0]!.t < now - this.windowMs) this.points.shift();
  }

  rate(now = Date.now()): number {
    const first = this.points[0];
    const last = this.points.at(-1);
    if (!first || !last || last === first) return 0;
    const span = Math.max(now, last.t) - first.t;
    return span > 0 ? ((last.n - first.n) * 1000) / span : 0;
  }
}

const group = (n: number) => thousands(n);

export function totalLag(counters: WorkerCounters): number {
  let sum = 0;
  for (const v of counters.lag.values()) sum += v;
  return sum;
}

/** The one-line status: `billing <- resource_usage  1,234 samples/s  lag 56  dlq 3  ledger +12,345`. */
export function statusLine(group_: string, topic: string, counters: WorkerCounters, rate: number, width: number): string {
  const partitions = [...counters.lag.keys()].sort((a, b) => a - b).join(',') || '-';
  const line =
    `${group_} <- ${topic}  ${group(rate)} samples/s  lag ${group(totalLag(counters))}  dlq ${group(counters.dlq)}` +
    `  new ${group(counters.inserted)}  dup ${group(counters.duplicates)}  partitions ${partitions}`;
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
