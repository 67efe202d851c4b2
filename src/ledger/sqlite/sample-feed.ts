// The samples a SQLite ledger has accepted, in the order the workers wrote them: the console's live
// source (src/console/ledger-tail.ts). SQLite runs one write transaction at a time, so a sample's row
// id grows with the order its transaction committed in, and "rows after the last one read" never
// skips a sample that commits later (a PostgreSQL ledger has no such order without another column;
// its console reads the topic). Rows are read with their machine, shape and labels joined in, a
// chunk at a time, on a read-only connection of their own (WAL: the workers are never blocked).
import type Database from 'better-sqlite3';
import type { SampleUsage } from '../../schema/sample.js';
import { openSqliteDatabase } from './open.js';

/** One accepted sample, as the console's traces take it. */
export interface FedSample extends SampleUsage {
  machine: string;
  labels: Record<string, string>;
}

const READ_SQL = `SELECT s.rowid, r.machine, h.label_set, s.start_ms, s.window_ms, h.cores, s.cpu_busy_us, s.mem_used_bytes, h.mem_total_bytes
  FROM samples s JOIN runs r ON r.id = s.run JOIN shapes h ON h.id = s.shape
  WHERE s.rowid > ? ORDER BY s.rowid LIMIT ?`;

export class SqliteSampleFeed {
  private readonly read: Database.Statement;
  private readonly firstAtOrAfter: Database.Statement;
  private readonly lastRowStatement: Database.Statement;
  private readonly firstRowStatement: Database.Statement;
  private readonly labelSetsAfter: Database.Statement;
  /** Label sets by id: a handful per fleet, read when one is first met. */
  private readonly labelSets = new Map<number, Record<string, string>>();
  private lastLabelSet = 0;

  private constructor(private readonly db: Database.Database) {
    this.read = db.prepare(READ_SQL).raw();
    this.firstAtOrAfter = db.prepare('SELECT rowid, start_ms + window_ms + ingest_lag_ms FROM samples WHERE rowid >= ? ORDER BY rowid LIMIT 1').raw();
    this.lastRowStatement = db.prepare('SELECT max(rowid) FROM samples').pluck();
    this.firstRowStatement = db.prepare('SELECT min(rowid) FROM samples').pluck();
    this.labelSetsAfter = db.prepare('SELECT id, labels FROM label_sets WHERE id > ? ORDER BY id').raw();
  }

  /** Opens the ledger at `path` for reading (its errors are the ledger's own: not found, not a ledger, newer). */
  static open(path: string): SqliteSampleFeed {
    // A short busy timeout: a ledger locked for a checkpoint must not hold up the console's frames.
    return new SqliteSampleFeed(openSqliteDatabase(path, { readonly: true, busyTimeoutMs: 100 }));
  }

  /** The newest sample's row id (0 for none). */
  lastRow(): number {
    return Number(this.lastRowStatement.get() ?? 0);
  }

  /**
   * The row id to read after for the samples ingested at or after `since`: found by bisection over
   * row ids (about 25 reads of one row), since ingestion time grows with them. Workers on one host
   * share its clock; a step of it only moves where the console's first read starts.
   */
  rowBefore(since: number): number {
    let lo = Number(this.firstRowStatement.get() ?? 0);
    let hi = this.lastRow() + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.firstAtOrAfter.get(mid) as [number, number] | undefined;
      if (!row || row[1] >= since) hi = mid;
      else lo = row[0] + 1;
    }
    return lo - 1;
  }

  /**
   * Calls `each` for up to `limit` samples after row `after`, in row order (the same object each
   * time, rewritten: the caller copies what it keeps). Returns the last row id read, or `after`.
   */
  readAfter(after: number, limit: number, each: (sample: FedSample) => void): { last: number; count: number } {
    const rows = this.read.all(after, limit) as [number, string, number, number, number, number, number, number, number][];
    const out: FedSample = { machine: '', labels: {}, start: 0, end: 0, cores: 0, busySeconds: 0, totalBytes: 0, usedBytes: 0 };
    for (const row of rows) {
      out.machine = row[1];
      out.labels = this.labelsOf(row[2]);
      out.start = row[3];
      out.end = row[3] + row[4];
      out.cores = row[5];
      out.busySeconds = row[6] / 1e6;
      out.usedBytes = row[7];
      out.totalBytes = row[8];
      each(out);
    }
    return { last: rows.length > 0 ? rows[rows.length - 1]![0] : after, count: rows.length };
  }

  /** A label set's labels; sets added since the last miss are read in one go (a sample's set commits with it). */
  private labelsOf(id: number): Record<string, string> {
    const known = this.labelSets.get(id);
    if (known) return known;
    for (const [setId, text] of this.labelSetsAfter.all(this.lastLabelSet) as [number, string][]) {
      this.labelSets.set(setId, JSON.parse(text) as Record<string, string>);
      this.lastLabelSet = setId; // read in id order
    }
    return this.labelSets.get(id) ?? {};
  }

  close(): void {
    this.db.close();
  }
}
