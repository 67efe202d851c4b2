// The agent's on-disk queue. Every sample is appended here before it is sent, and is removed only
// once Kafka has acknowledged it, so nothing is ever held only in memory: a broker outage or an
// agent restart replays the spool in order. The spool is bounded; past the bound the oldest
// segment is dropped, counted and logged.
//
// Layout: DIR/seg-<n>.log files of checked lines (spool-format.ts), DIR/cursor.json, the first
// unacknowledged position {segment, offset}, and DIR/agent.lock.
//
// Durability (README, "Durability"): each append is one write(2) followed by fdatasync, before the
// record can be sent, so a record (and the sampler state in it) that reached Kafka is on disk. The
// cursor is rewritten in place and not synced: a cursor older than the truth only sends acknowledged
// records again, under the same ids, and the ledger bills an id once. On open, whatever a crash or a
// power loss left is repaired: a torn or damaged line and everything after it in its segment is cut,
// and a cursor past the end or inside a line is moved back to a record boundary; losses are counted
// and logged, and the agent starts.
import { closeSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { decodeLine, encodeLine } from './spool-format.js';
import { realSpoolIo, type SpoolIo } from './spool-io.js';
import { SpoolLock } from './spool-lock.js';

export interface SpoolRecord {
  key: string;
  value: string;
}

export interface SpoolCursor {
  segment: number;
  offset: number;
}

export interface SpoolBatch {
  records: SpoolRecord[];
  /** The cursor to ack once these records are safely in Kafka. */
  next: SpoolCursor;
}

export interface SpoolOptions {
  /** Total bytes kept on disk; the oldest segment goes when it is exceeded. */
  maxBytes: number;
  logger: Logger;
  /** fdatasync after each append (default true; off only to measure what it costs). */
  sync?: boolean;
  io?: SpoolIo;
}

interface Segment {
  id: number;
  bytes: number;
}

/** What a scan of one segment found. */
interface SegmentScan {
  /** Bytes of whole, valid lines from the start of the scan. */
  validBytes: number;
  /** Where each valid record (not marker) starts. */
  recordStarts: number[];
  /** Where each valid line starts, and the end of the last: the places a cursor may be. */
  boundaries: number[];
  lastState: string | undefined;
  /** Lines cut: damaged ones and those after them, a torn last line included. */
  cutLines: number;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;
const NEWLINE = 0x0a;
const CURSOR_FILE = 'cursor.json';

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

function segmentName(id: number): string {
  return `seg-${String(id).padStart(12, '0')}.log`;
}

function readWhole(path: string, from = 0): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    const buf = Buffer.allocUnsafe(Math.max(0, size - from));
    let read = 0;
    while (read < buf.length) {
      const n = readSync(fd, buf, read, buf.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** Checks every line of a segment. */
function scanSegment(path: string): SegmentScan {
  const buf = readWhole(path);
  const scan: SegmentScan = { validBytes: 0, recordStarts: [], boundaries: [0], lastState: undefined, cutLines: 0 };
  let lineStart = 0;
  let damaged = false;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== NEWLINE) continue;
    if (damaged) {
      scan.cutLines++;
    } else {
      const line = decodeLine(buf.toString('utf8', lineStart, i));
      if (!line) {
        damaged = true;
        scan.cutLines++;
      } else {
        if (line.kind === 'record') scan.recordStarts.push(lineStart);
        if (line.state) scan.lastState = line.state;
        scan.validBytes = i + 1;
        scan.boundaries.push(i + 1);
      }
    }
    lineStart = i + 1;
  }
  if (lineStart < buf.length) scan.cutLines++; // a torn last line: no newline
  return scan;
}

export class Spool {
  private segments: Segment[] = [];
  private cursor: SpoolCursor = { segment: 1, offset: 0 };
  private pendingRecords = 0;
  private droppedRecords = 0;
  private recoveryLoss = 0;
  private state: string | undefined;
  private activeFd: number | undefined;
  private cursorFd: number | undefined;
  private cursorWritten = 0;
  private readonly segmentBytes: number;
  private readonly io: SpoolIo;
  private readonly sync: boolean;
  private readonly lock: SpoolLock;

  private constructor(
    readonly dir: string,
    private readonly options: SpoolOptions,
  ) {
    this.io = options.io ?? realSpoolIo;
    this.sync = options.sync ?? true;
    // Small enough that dropping one segment at the bound loses little, large enough to keep few files.
    this.segmentBytes = Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(options.maxBytes / 16)));
    mkdirSync(dir, { recursive: true });
    this.lock = SpoolLock.acquire(dir);
    try {
      this.recover();
    } catch (error) {
      this.lock.release();
      throw error;
    }
  }

  static open(dir: string, options: SpoolOptions): Spool {
    return new Spool(dir, options);
  }

  /** Records appended but not yet acknowledged. */
  get pending(): number {
    return this.pendingRecords;
  }

  /** Records dropped at the bound since this spool was opened. */
  get dropped(): number {
    return this.droppedRecords;
  }

  /** Lines cut on open because a crash or a power loss had torn or damaged them. */
  get lostInRecovery(): number {
    return this.recoveryLoss;
  }

  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  /** The state carried by the last line appended (by this run or, after a restart, an earlier one). */
  get lastState(): string | undefined {
    return this.state;
  }

  /**
   * Appends records in one write, and makes them durable before returning. `state` rides on the last
   * record (or, with no records, on a marker line), so the records and the state land together or not
   * at all.
   */
  append(records: SpoolRecord[], state?: string): void {
    if (records.length === 0 && state === undefined) return;
    let text = '';
    records.forEach((r, i) => (text += encodeLine(r.key, r.value, i === records.length - 1 ? state : undefined)));
    if (records.length === 0) text = encodeLine(null, '', state);
    const data = Buffer.from(text);
    const active = this.activeSegment();
    this.io.append(this.activeFd!, data);
    active.bytes += data.length;
    if (this.sync) this.io.sync(this.activeFd!);
    this.pendingRecords += records.length;
    if (state !== undefined) this.state = state;
    this.enforceBound();
  }

  /** Reads up to `max` records from the cursor, in order, without consuming them. */
  peek(max: number): SpoolBatch {
    const records: SpoolRecord[] = [];
    let { segment, offset } = this.cursor;
    for (const s of this.segments) {
      if (s.id < segment || records.length >= max) continue;
      if (s.id > segment) {
        segment = s.id;
        offset = 0;
      }
      if (offset >= s.bytes) continue;
      const fd = openSync(this.path(s.id), 'r');
      try {
        const length = Math.min(s.bytes - offset, 8 * 1024 * 1024);
        const buf = Buffer.allocUnsafe(length);
        const n = readSync(fd, buf, 0, length, offset);
        let lineStart = 0;
        for (let i = 0; i < n && records.length < max; i++) {
          if (buf[i] !== NEWLINE) continue;
          const line = decodeLine(buf.toString('utf8', lineStart, i));
          // Lines were checked on open or written by us; a marker is state only, never sent.
          if (line?.kind === 'record') records.push({ key: line.key, value: line.value });
          lineStart = i + 1;
        }
        offset += lineStart;
      } finally {
        closeSync(fd);
      }
    }
    return { records, next: { segment, offset } };
  }

  /** Marks everything before `next` as delivered. */
  ack(next: SpoolCursor, count: number): void {
    // A segment dropped at the bound while the batch was in flight is already accounted for.
    if (next.segment < this.cursor.segment || (next.segment === this.cursor.segment && next.offset <= this.cursor.offset)) return;
    this.cursor = next;
    this.pendingRecords = Math.max(0, this.pendingRecords - count);
    this.deleteConsumedSegments();
    this.writeCursor();
  }

  /** Releases the directory for another agent. */
  close(): void {
    if (this.activeFd !== undefined) this.io.close(this.activeFd);
    if (this.cursorFd !== undefined) this.io.close(this.cursorFd);
    this.activeFd = this.cursorFd = undefined;
    this.lock.release();
  }

  private path(id: number): string {
    return join(this.dir, segmentName(id));
  }

  private activeSegment(): Segment {
    let active = this.segments.at(-1);
    if (active && active.bytes < this.segmentBytes && this.activeFd !== undefined) return active;
    if (!active || active.bytes >= this.segmentBytes) {
      active = { id: (active?.id ?? this.cursor.segment - 1) + 1, bytes: 0 };
      this.segments.push(active);
    }
    if (this.activeFd !== undefined) this.io.close(this.activeFd);
    this.activeFd = this.io.openAppend(this.path(active.id));
    // A new file's name must survive a power loss as well as its contents.
    if (active.bytes === 0 && this.sync) this.io.syncDir(this.dir);
    return active;
  }

  private writeCursor(): void {
    if (this.cursorFd === undefined) {
      this.cursorFd = this.io.openRewrite(join(this.dir, CURSOR_FILE));
      this.cursorWritten = fstatSync(this.cursorFd).size; // pad over what an earlier run left
    }
    let text = JSON.stringify(this.cursor);
    // Rewritten in place, one write: a shorter value is padded, which JSON.parse ignores.
    if (text.length < this.cursorWritten) text = text.padEnd(this.cursorWritten, ' ');
    this.io.rewrite(this.cursorFd, Buffer.from(text));
    this.cursorWritten = text.length;
  }

  /** Reads the directory and repairs what a crash or power loss left: never refuses to start. */
  private recover(): void {
    const { logger } = this.options;
    for (const name of readdirSync(this.dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m) this.segments.push({ id: Number(m[1]), bytes: statSync(join(this.dir, name)).size });
    }
    this.segments.sort((a, b) => a.id - b.id);
    // An empty last segment (a crash between creating it and writing to it) holds nothing.
    while (this.segments.length > 1 && this.segments.at(-1)!.bytes === 0) this.io.remove(this.path(this.segments.pop()!.id));
    let cursor = this.readCursor() ?? { segment: this.segments[0]?.id ?? 1, offset: 0 };
    const first = this.segments[0];
    const last = this.segments.at(-1);
    if (first && cursor.segment < first.id) cursor = { segment: first.id, offset: 0 };
    if (last && cursor.segment === last.id + 1 && cursor.offset === 0) {
      cursor = { segment: last.id, offset: last.bytes }; // it was in an empty segment removed above
    } else if (last && cursor.segment > last.id) {
      logger.warn('spool cursor points past the last segment (a power loss kept the cursor, not the data); nothing to replay', {
        dir: this.dir,
        cursor,
      });
      cursor = { segment: last.id, offset: last.bytes };
    }

    let stateInLast: string | undefined;
    for (const s of this.segments) {
      const scan = scanSegment(this.path(s.id));
      if (scan.validBytes < s.bytes) {
        this.io.truncate(this.path(s.id), scan.validBytes);
        this.recoveryLoss += scan.cutLines;
        logger.warn('spool segment ended in a torn or damaged record (a crash or power loss mid-write): cut back to the last whole record', {
          dir: this.dir,
          segment: segmentName(s.id),
          cutBytes: s.bytes - scan.validBytes,
          cutRecords: scan.cutLines,
        });
        s.bytes = scan.validBytes;
      }
      if (s.id === cursor.segment && !scan.boundaries.includes(cursor.offset)) {
        // Past the end, or inside a line: back to the last record boundary before it (a repeat at most).
        const aligned = Math.max(...scan.boundaries.filter((b) => b <= cursor.offset));
        logger.warn('spool cursor was not on a record boundary; moved back to the last whole record before it', {
          dir: this.dir,
          cursor,
          now: aligned,
        });
        cursor = { segment: s.id, offset: aligned };
      }
      const from = s.id === cursor.segment ? cursor.offset : s.id > cursor.segment ? 0 : Infinity;
      this.pendingRecords += scan.recordStarts.filter((at) => at >= from).length;
      if (scan.lastState !== undefined) this.state = scan.lastState;
      stateInLast = scan.lastState;
    }
    if (this.recoveryLoss > 0) logger.warn('spool repaired on start', { dir: this.dir, recordsLost: this.recoveryLoss });
    this.cursor = cursor;
    this.deleteConsumedSegments();
    // The state must stay on disk when the segment that carried it is gone: carry it forward.
    if (this.state !== undefined && stateInLast !== this.state) this.append([], this.state);
  }

  private readCursor(): SpoolCursor | undefined {
    let text: string;
    try {
      text = readWhole(join(this.dir, CURSOR_FILE)).toString('utf8');
    } catch {
      return undefined; // a new spool
    }
    try {
      const c = JSON.parse(text) as SpoolCursor;
      if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && c.offset >= 0) return c;
    } catch {
      // torn or damaged: below
    }
    this.options.logger.warn('spool cursor unreadable; replaying the whole spool (ids make repeats harmless)', { dir: this.dir });
    return undefined;
  }

  private deleteConsumedSegments(): void {
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const fullyRead = first.id < this.cursor.segment || (first.id === this.cursor.segment && this.cursor.offset >= first.bytes);
      if (!fullyRead) break;
      this.dropSegment(first);
    }
  }

  /** Removes the oldest segment; the cursor moves to the next one if it was in it. */
  private dropSegment(oldest: Segment): void {
    this.segments.shift();
    this.io.remove(this.path(oldest.id));
    if (this.cursor.segment <= oldest.id) this.cursor = { segment: this.segments[0]!.id, offset: 0 };
  }

  private enforceBound(): void {
    while (this.bytes > this.options.maxBytes && this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const from = oldest.id === this.cursor.segment ? this.cursor.offset : oldest.id > this.cursor.segment ? 0 : Infinity;
      const lost = from < oldest.bytes ? scanSegment(this.path(oldest.id)).recordStarts.filter((at) => at >= from).length : 0;
      this.dropSegment(oldest);
      this.pendingRecords = Math.max(0, this.pendingRecords - lost);
      this.droppedRecords += lost;
      if (lost > 0) {
        this.options.logger.warn('spool is full: dropped the oldest samples', {
          dropped: lost,
          droppedTotal: this.droppedRecords,
          maxBytes: this.options.maxBytes,
          dir: this.dir,
        });
      }
    }
  }
}
