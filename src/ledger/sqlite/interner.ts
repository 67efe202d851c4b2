// Small integer ids for what samples repeat: label sets, runs (an id's part before its sequence, one
// per agent start) and shapes (a label set with a core count and memory size). A sample row then holds
// two small integers where it held three strings and two wide numbers.
//
// Ids are cached in memory. The cache may hold ids made inside a transaction that is later rolled
// back (a rolled-back id can then be given to other values), so forget() must be called after every
// rollback; nothing is cached across one otherwise.
import type Database from 'better-sqlite3';

export interface RunRef {
  id: number;
  machine: string;
}

export interface ShapeRef {
  id: number;
  labelSet: number;
}

export class SqliteInterner {
  private readonly labelIds = new Map<string, number>();
  private readonly runIds = new Map<string, RunRef>();
  private readonly shapeIds = new Map<string, ShapeRef>();
  private readonly s: Record<'insertLabels' | 'labelId' | 'insertRun' | 'runId' | 'insertShape' | 'shapeId', Database.Statement>;

  constructor(db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertLabels: p('INSERT OR IGNORE INTO label_sets (labels) VALUES (?)'),
      labelId: p('SELECT id FROM label_sets WHERE labels = ?'),
      insertRun: p('INSERT OR IGNORE INTO runs (prefix, whole, machine) VALUES (?, ?, ?)'),
      runId: p('SELECT id, machine FROM runs WHERE prefix = ? AND whole = ?'),
      insertShape: p('INSERT OR IGNORE INTO shapes (label_set, cores, mem_total_bytes) VALUES (?, ?, ?)'),
      shapeId: p('SELECT id FROM shapes WHERE label_set = ? AND cores = ? AND mem_total_bytes = ?'),
    };
  }

  /** Forgets every cached id: after a rollback some may name nothing, or other values later. */
  forget(): void {
    this.labelIds.clear();
    this.runIds.clear();
    this.shapeIds.clear();
  }

  labelSet(labels: string): number {
    let id = this.labelIds.get(labels);
    if (id === undefined) {
      this.s.insertLabels.run(labels);
      id = (this.s.labelId.get(labels) as { id: number }).id;
      this.labelIds.set(labels, id);
    }
    return id;
  }

  /** The run of an id prefix; its machine is the one it was first seen with. */
  run(prefix: string, whole: number, machine: string): RunRef {
    const key = whole ? `1${prefix}` : `0${prefix}`;
    let ref = this.runIds.get(key);
    if (!ref) {
      this.s.insertRun.run(prefix, whole, machine);
      ref = this.s.runId.get(prefix, whole) as RunRef;
      if (this.runIds.size > 200_000) this.runIds.clear();
      this.runIds.set(key, ref);
    }
    return ref;
  }

  shape(labels: string, cores: number, memTotalBytes: number): ShapeRef {
    const key = `${cores}\u0000${memTotalBytes}\u0000${labels}`;
    let ref = this.shapeIds.get(key);
    if (!ref) {
      const labelSet = this.labelSet(labels);
      this.s.insertShape.run(labelSet, cores, memTotalBytes);
      ref = { id: (this.s.shapeId.get(labelSet, cores, memTotalBytes) as { id: number }).id, labelSet };
      if (this.shapeIds.size > 200_000) this.shapeIds.clear();
      this.shapeIds.set(key, ref);
    }
    return ref;
  }
}
