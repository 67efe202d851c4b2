// Small integer ids for what samples repeat (label sets, runs, shapes; see ../sqlite/interner.ts), on
// PostgreSQL: a batch's values this connection has not seen are inserted and read back in one
// statement each, inside the batch's transaction, sorted so concurrent transactions lock in one order.
// Ids become known to later batches only once their transaction commits (commit()); a rollback
// forgets them (they may name nothing).
import type pg from 'pg';
import type { RunRef, ShapeRef } from '../sqlite/interner.js';

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The ids every transaction of this connection pool has committed. */
export class PgInterner {
  readonly labelIds = new Map<string, number>();
  readonly runIds = new Map<string, RunRef>();
  readonly shapeIds = new Map<string, ShapeRef>();

  static runKey = (prefix: string, whole: number): string => (whole ? `1${prefix}` : `0${prefix}`);
  static shapeKey = (labels: string, cores: number, memTotalBytes: number): string => `${cores}\u0000${memTotalBytes}\u0000${labels}`;

  /** Interning for one transaction (batches of several partitions run side by side). */
  begin(): InternTx {
    return new InternTx(this);
  }
}

/** What interning needs of a sample: its labels, run and shape. */
export interface InternRow {
  labels: string;
  prefix: string;
  whole: number;
  machine: string;
  cores: number;
  memTotalBytes: number;
}

export class InternTx {
  private readonly pending = { labels: new Map<string, number>(), runs: new Map<string, RunRef>(), shapes: new Map<string, ShapeRef>() };

  constructor(private readonly known: PgInterner) {}

  private get labelIds() {
    return this.known.labelIds;
  }

  private get runIds() {
    return this.known.runIds;
  }

  private get shapeIds() {
    return this.known.shapeIds;
  }

  label(labels: string): number | undefined {
    return this.labelIds.get(labels) ?? this.pending.labels.get(labels);
  }

  run(prefix: string, whole: number): RunRef | undefined {
    const key = PgInterner.runKey(prefix, whole);
    return this.runIds.get(key) ?? this.pending.runs.get(key);
  }

  shape(labels: string, cores: number, memTotalBytes: number): ShapeRef | undefined {
    const key = PgInterner.shapeKey(labels, cores, memTotalBytes);
    return this.shapeIds.get(key) ?? this.pending.shapes.get(key);
  }

  /** Interns every label set, run and shape of these rows that is not known yet. */
  async intern(
    client: pg.ClientBase,
    rows: InternRow[],
  ): Promise<void> {
    const labels = [...new Set(rows.filter((r) => this.label(r.labels) === undefined).map((r) => r.labels))].sort(byText);
    if (labels.length) {
      await client.query('INSERT INTO label_sets (labels) SELECT unnest($1::text[]) ON CONFLICT (labels) DO NOTHING', [labels]);
      const r = await client.query<{ id: bigint; labels: string }>('SELECT id, labels FROM label_sets WHERE labels = ANY($1::text[])', [labels]);
      for (const row of r.rows) this.pending.labels.set(row.labels, Number(row.id));
    }
    const runs = new Map<string, { prefix: string; whole: number; machine: string }>();
    for (const r of rows) if (!this.run(r.prefix, r.whole)) runs.set(PgInterner.runKey(r.prefix, r.whole), r);
    if (runs.size) {
      const list = [...runs.entries()].sort(([a], [b]) => byText(a, b)).map(([, r]) => r);
      const prefixes = list.map((r) => r.prefix);
      const wholes = list.map((r) => r.whole);
      await client.query('INSERT INTO runs (prefix, whole, machine) SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[]) ON CONFLICT (prefix, whole) DO NOTHING', [
        prefixes,
        wholes,
        list.map((r) => r.machine),
      ]);
      const r = await client.query<{ id: bigint; prefix: string; whole: number; machine: string }>(
        'SELECT r.id, r.prefix, r.whole, r.machine FROM runs r JOIN unnest($1::text[], $2::smallint[]) AS k(prefix, whole) USING (prefix, whole)',
        [prefixes, wholes],
      );
      for (const row of r.rows) this.pending.runs.set(PgInterner.runKey(row.prefix, row.whole), { id: Number(row.id), machine: row.machine });
    }
    const shapes = new Map<string, { labelSet: number; cores: number; memTotalBytes: number }>();
    for (const r of rows) {
      if (!this.shape(r.labels, r.cores, r.memTotalBytes)) {
        shapes.set(PgInterner.shapeKey(r.labels, r.cores, r.memTotalBytes), { labelSet: this.label(r.labels)!, cores: r.cores, memTotalBytes: r.memTotalBytes });
      }
    }
    if (shapes.size) {
      const list = [...shapes.entries()].sort(([a], [b]) => byText(a, b));
      const cols = [list.map(([, s]) => s.labelSet), list.map(([, s]) => s.cores), list.map(([, s]) => s.memTotalBytes)];
      await client.query(
        'INSERT INTO shapes (label_set, cores, mem_total_bytes) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) ON CONFLICT (label_set, cores, mem_total_bytes) DO NOTHING',
        cols,
      );
      const r = await client.query<{ id: bigint; label_set: bigint; cores: bigint; mem_total_bytes: bigint }>(
        'SELECT s.id, s.label_set, s.cores, s.mem_total_bytes FROM shapes s JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS k(label_set, cores, mem_total_bytes) USING (label_set, cores, mem_total_bytes)',
        cols,
      );
      const byValues = new Map(list.map(([key, s]) => [`${s.labelSet}\u0000${s.cores}\u0000${s.memTotalBytes}`, key]));
      for (const row of r.rows) {
        const key = byValues.get(`${row.label_set}\u0000${row.cores}\u0000${row.mem_total_bytes}`);
        if (key) this.pending.shapes.set(key, { id: Number(row.id), labelSet: Number(row.label_set) });
      }
    }
  }

  /** The transaction committed: its ids are known for good (a rolled-back one is just dropped). */
  commit(): void {
    if (this.runIds.size > 200_000) this.runIds.clear();
    if (this.shapeIds.size > 200_000) this.shapeIds.clear();
    for (const [k, v] of this.pending.labels) this.labelIds.set(k, v);
    for (const [k, v] of this.pending.runs) this.runIds.set(k, v);
    for (const [k, v] of this.pending.shapes) this.shapeIds.set(k, v);
  }
}
