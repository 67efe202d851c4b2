// The worker's progress for its operator, once a second: the status line on a TTY, else a JSON
// progress line every so often (and once a minute when nothing moves). Each second it also reads the
// topic's end offsets, so lag (end minus the ledger's next offset) stays true while nothing is fetched.
import { errorMessage } from '../cli/errors.js';
import type { Logger } from '../log/logger.js';
import { StatusLine, statusLine } from './status.js';
import type { WorkerStats } from './worker-stats.js';

export interface ProgressOptions {
  group: string;
  topic: string;
  stats: WorkerStats;
  /** The topic's end offset per partition, read from the broker. */
  readLogEnds: () => Promise<ReadonlyMap<number, number>>;
  logger: Logger;
  statusLine?: StatusLine;
  /** How often a non-TTY worker logs while samples flow (or lag moves). */
  intervalMs?: number;
  /** The clock of the log's cadence (monotonic by default). */
  now?: () => number;
}

export class Progress {
  private lastLogged = '';
  private lastLoggedAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private failedReads = 0;
  private stopped = false;

  constructor(private readonly options: ProgressOptions) {}

  start(): void {
    void this.refreshLogEnds();
    this.timer = setInterval(() => {
      void this.refreshLogEnds();
      this.tick();
    }, 1000);
  }

  /** Reads the topic's end offsets into the lag tracker; one read at a time (a broker away can take long). */
  refreshLogEnds(): Promise<void> {
    if (this.reading) return this.reading;
    const { stats, readLogEnds, logger } = this.options;
    this.reading = readLogEnds()
      .then(
        (ends) => {
          if (this.stopped) return;
          stats.lag.logEndsRead(ends);
          stats.brokerAnswering = true;
          this.failedReads = 0;
        },
        (error: unknown) => {
          if (this.stopped) return;
          stats.brokerAnswering = false;
          // Said once per outage: lag then holds the last end offsets read.
          if (this.failedReads++ === 0) logger.warn('cannot read the topic end offsets; lag is as of the last read', { error: errorMessage(error) });
        },
      )
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  tick(now = (this.options.now ?? (() => performance.now()))()): void {
    const { stats, logger, statusLine: line } = this.options;
    const s = stats.snapshot();
    if (line) {
      line.draw(statusLine(this.options.group, this.options.topic, s, line.width));
      return;
    }
    // Logged when something moved (counts or lag) every intervalMs, else once a minute.
    const state = `${s.inserted} ${s.duplicates} ${s.dlq} ${s.lag} ${s.partitions.map((p) => p.partition)} ${s.stoppedPartitions}`;
    const due = now - this.lastLoggedAt >= (state !== this.lastLogged ? (this.options.intervalMs ?? 10_000) : 60_000);
    if (!due) return;
    this.lastLogged = state;
    this.lastLoggedAt = now;
    logger.info('progress', {
      samplesPerSecond: Math.round(s.samplesPerSecond),
      lag: s.lag,
      lagByPartition: Object.fromEntries(s.partitions.filter((p) => p.lag !== undefined).map((p) => [p.partition, p.lag])),
      inserted: s.inserted,
      duplicates: s.duplicates,
      dlq: s.dlq,
      partitions: s.partitions.map((p) => p.partition),
      ...(s.stoppedPartitions.length ? { stoppedPartitions: s.stoppedPartitions } : {}),
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.options.statusLine?.clear();
  }
}
