// The agent's on-disk queue. Every sample is appended here before it is sent, and is removed only
// once Kafka has acknowledged it, so nothing is ever held only in memory: a broker outage or an
// agent restart replays the spool in order. The spool is bounded; past the bound the oldest
// segment is dropped, counted and logged.
//
// Layout: DIR/seg-<n>.log files of lines `<JSON key>\t<value>\n`, and DIR/cursor.json, the first
// unacknowledged position {segment, offset}.
import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { MeterError } from '../cli/errors.js';
import { processAlive } from '../kafka/file-lock.js';
import { StateFile } from './state-file.js';

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
}

interface Segment {
  id: number;
  bytes: number;
}

const SEGMENT_RE = /^seg-(\d{12})\.log$/;
const NEWLINE = 0x0a;

export const DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024;

function segmentName(id: number): string {
  return `seg-${String(id).padStart(12, '0')}.log`;
}

function countLines(path: string, from: number): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let position = from;
    let lines = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, position);
      if (n === 0) return lines;
      for (let i = 0; i < n; i++) if (buf[i] === NEWLINE) lines++;
      position += n;
    }
  } finally {
    closeSync(fd);
  }
}

export class Spool {
  private segments: Segment[] = [];
  private cursor: SpoolCursor;
  private pendingRecords = 0;
  private droppedRecords = 0;
  private readonly segmentBytes: number;
  private readonly cursorFile: StateFile<SpoolCursor>;

  private constructor(
    readonly dir: string,
    private readonly options: SpoolOptions,
  ) {
    // Small enough that dropping one segment at the bound loses little, large enough to keep few files.
    this.segmentBytes = Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(options.maxBytes / 16)));
    mkdirSync(dir, { recursive: true });
    this.lock();
    this.cursorFile = new StateFile(join(dir, 'cursor.json'));
    for (const name of readdirSync(dir)) {
      const m = SEGMENT_RE.exec(name);
      if (m) this.segments.push({ id: Number(m[1]), bytes: statSync(join(dir, name)).size });
    }
    this.segments.sort((a, b) => a.id - b.id);
    this.repairTail();
    this.cursor = this.readCursor();
    for (const s of this.segments) {
      if (s.id < this.cursor.segment) continue;
      this.pendingRecords += countLines(this.path(s.id), s.id === this.cursor.segment ? this.cursor.offset : 0);
    }
    this.deleteConsumedSegments();
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

  get bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  append(records: SpoolRecord[]): void {
    if (records.length === 0) return;
    let active = this.segments.at(-1);
    if (!active || active.bytes >= this.segmentBytes) {
      active = { id: (active?.id ?? this.cursor.segment - 1) + 1, bytes: 0 };
      this.segments.push(active);
    }
    let text = '';
    for (const r of records) text += `${JSON.stringify(r.key)}\t${r.value}\n`;
    appendFileSync(this.path(active.id), text);
    active.bytes += Buffer.byteLength(text);
    this.pendingRecords += records.length;
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
          const line = buf.toString('utf8', lineStart, i);
          const tab = line.indexOf('\t');
          records.push({ key: JSON.parse(line.slice(0, tab)) as string, value: line.slice(tab + 1) });
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
    this.cursorFile.write(this.cursor);
  }

  /** Releases the directory for another agent. */
  close(): void {
    this.cursorFile.close();
    rmSync(join(this.dir, 'agent.pid'), { force: true });
  }

  /** Two agents appending to one spool would interleave segments: one agent per directory. */
  private lock(): void {
    const pidFile = join(this.dir, 'agent.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid !== process.pid && processAlive(pid)) {
        throw new MeterError(`spool ${this.dir} is in use by another agent (pid ${pid}); stop it or pass a different --spool`);
      }
    }
    writeFileSync(pidFile, String(process.pid));
  }

  private path(id: number): string {
    return join(this.dir, segmentName(id));
  }

  private readCursor(): SpoolCursor {
    if (existsSync(this.cursorFile.path)) {
      const c = this.cursorFile.read();
      if (c && Number.isInteger(c.segment) && Number.isInteger(c.offset)) {
        // The cursor's segment may have been deleted already; start at the first one we have.
        const first = this.segments[0];
        if (first && c.segment < first.id) return { segment: first.id, offset: 0 };
        return c;
      }
      this.options.logger.warn('spool cursor unreadable; replaying the whole spool (ids make repeats harmless)', { dir: this.dir });
    }
    return { segment: this.segments[0]?.id ?? 1, offset: 0 };
  }

  /** A crash mid-append can leave half a line at the end of the last segment: cut it off. */
  private repairTail(): void {
    const last = this.segments.at(-1);
    if (!last || last.bytes === 0) return;
    const fd = openSync(this.path(last.id), 'r');
    try {
      const size = fstatSync(fd).size;
      const tail = Buffer.allocUnsafe(Math.min(size, 1 << 16));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      const lastNewline = tail.lastIndexOf(NEWLINE);
      const keep = lastNewline < 0 ? size - tail.length : size - tail.length + lastNewline + 1;
      if (keep < size) {
        truncateSync(this.path(last.id), keep);
        last.bytes = keep;
        this.options.logger.warn('spool ended in a partial record (agent killed mid-write); cut it off', { dir: this.dir });
      }
    } finally {
      closeSync(fd);
    }
  }

  private deleteConsumedSegments(): void {
    while (this.segments.length > 1) {
      const first = this.segments[0]!;
      const fullyRead = first.id < this.cursor.segment || (first.id === this.cursor.segment && this.cursor.offset >= first.bytes);
      if (!fullyRead) break;
      rmSync(this.path(first.id), { force: true });
      this.segments.shift();
      if (this.cursor.segment <= first.id) this.cursor = { segment: this.segments[0]!.id, offset: 0 };
    }
  }

  private enforceBound(): void {
    while (this.bytes > this.options.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift()!;
      const from = oldest.id === this.cursor.segment ? this.cursor.offset : oldest.id > this.cursor.segment ? 0 : oldest.bytes;
      const lost = from < oldest.bytes ? countLines(this.path(oldest.id), from) : 0;
      rmSync(this.path(oldest.id), { force: true });
      if (this.cursor.segment <= oldest.id) this.cursor = { segment: this.segments[0]!.id, offset: 0 };
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
