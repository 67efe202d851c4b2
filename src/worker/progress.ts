// The worker's progress for its operator, once a second: the status line on a TTY, else a JSON
// progress line every so often (and once a minute when nothing moves).
import type { Logger } from '../log/logger.js';
import { RateMeter, StatusLine, statusLine, totalLag, type WorkerCounters } from './status.js';

export interface ProgressOptions {
  group: string;
  topic: string;
  counters: WorkerCounters;
  logger: Logger;
  statusLine?: StatusLine;
  /** How often a non-TTY worker logs while samples flow. */
  intervalMs?: number;
}

export class Progress {
  private readonly meter = new RateMeter();
  private lastLoggedTotal = -1;
  private lastLoggedAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: ProgressOptions) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
  }

  tick(now = Date.now()): void {
    const { counters, logger, statusLine: line } = this.options;
    this.meter.observe(counters.inserted, now);
    if (line) {
      line.draw(statusLine(this.options.group, this.options.topic, counters, this.meter.rate(now), line.width));
      return;
    }
    const total = counters.inserted + counters.dlq + counters.duplicates;
    const due = now - this.lastLoggedAt >= (total !== this.lastLoggedTotal ? (this.options.intervalMs ?? 10_000) : 60_000);
    if (!due) return;
    this.lastLoggedTotal = total;
    this.lastLoggedAt = now;
    logger.info('progress', {
      samplesPerSecond: Math.round(this.meter.rate(now)),
      lag: totalLag(counters),
      inserted: counters.inserted,
      duplicates: counters.duplicates,
      dlq: counters.dlq,
      partitions: [...counters.lag.keys()],
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.statusLine?.clear();
  }
}
