// The console's live source from a SQLite ledger: the samples the workers accepted, read as they
// commit (src/ledger/sqlite/sample-feed.ts), instead of every message of the topic. At 10,000
// machines the topic's tail cost the console about half its CPU (kafkajs receiving and decoding
// 2,000 messages a second, and the collections of what that left behind); the ledger's new rows are
// a few ms a second of SQLite. What the screen shows is then what is billed: a sample the workers
// refused (the DLQ) never moves a sparkline, and a stopped worker shows as machines going stale and
// the lag pane's lag.
//
// It starts backfillMs back by ingestion time (the hub asks for two minutes, so traces start full),
// then polls every pollMs for rows after the last one read; a big poll (a fleet's burst) is read in
// chunks with the event loop's turn between them, so a key press waits for a chunk, not the burst.
import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SqliteSampleFeed, type FedSample } from '../ledger/sqlite/sample-feed.js';
import { MachineTraces, type LiveSource, type TraceOptions } from './machine-traces.js';
import { firstLine } from './tail-store.js';

export interface LedgerTailOptions extends TraceOptions {
  /** The SQLite ledger's path. */
  path: string;
  /** How far back (ingestion time) to start. */
  backfillMs: number;
  /** Milliseconds between reads of new rows. */
  pollMs: number;
}

/** Rows read between two turns of the event loop. */
export const ROWS_PER_TURN = 2000;

export class LedgerTail extends MachineTraces implements LiveSource {
  private feed: SqliteSampleFeed | undefined;
  /** The open file's inode: a ledger replaced under the same path is opened afresh. */
  private fileId: number | undefined;
  /** The last row id read; null until the start has been found. */
  private cursor: number | null = null;
  /** The newest row when the first read began: caughtUp() once read up to it. */
  private target: number | null = null;
  /** The last poll failed (no ledger yet, a broken file): --once has nothing to wait for. */
  private failed = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  /** Each row read goes into its machine's trace. */
  private readonly addRow = (sample: FedSample) => this.addSample(sample);

  constructor(private readonly options: LedgerTailOptions) {
    super(options);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.polling = this.poll();
    await this.polling;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll();
    }, this.options.pollMs);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    try {
      await this.readNew();
      this.failed = false;
      this.setState('running');
    } catch (error) {
      // The ledger store reads the same file and says what is wrong with it in the header; here the
      // connection is dropped and opened afresh at the next poll.
      this.closeFeed();
      this.failed = true;
      this.message = firstLine(error);
    }
    this.schedule();
  }

  private closeFeed(): void {
    this.feed?.close();
    this.feed = undefined;
    this.fileId = undefined;
  }

  private async readNew(): Promise<void> {
    // A new file at the path (the ledger deleted and made again by a worker): its row ids are not
    // the old one's, so the start is found again. A missing file throws, as opening it would.
    const fileId = statSync(this.options.path).ino;
    if (this.feed && fileId !== this.fileId) {
      this.closeFeed();
      this.cursor = null;
    }
    if (!this.feed) {
      this.feed = SqliteSampleFeed.open(this.options.path);
      this.fileId = fileId;
    }
    const feed = this.feed;
    const last = feed.lastRow();
    // First read, or the rows were emptied and begun again: find the start by time.
    if (this.cursor === null || last < this.cursor) this.cursor = feed.rowBefore(this.now() - this.options.backfillMs);
    this.target ??= last;
    const now = this.now();
    let read = 0;
    while (!this.stopped) {
      const { last: upTo, count } = feed.readAfter(this.cursor, ROWS_PER_TURN, this.addRow);
      this.cursor = upTo;
      read += count;
      this.received += count;
      // Each chunk is a change, as each of the topic tail's batches is: a burst's rows are then
      // brought up to date between chunks (the hub's prepareSoon), not all in the next frame.
      if (count > 0) this.changed();
      if (count < ROWS_PER_TURN) break;
      await nextTurn();
    }
    if (read > 0) this.arrivals.record(now, read);
  }

  caughtUp(): boolean {
    if (this.failed) return true;
    return this.target !== null && this.cursor !== null && this.cursor >= this.target;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling?.catch(() => {});
    this.closeFeed();
  }
}
