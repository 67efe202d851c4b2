// SQLite ledger schema v4: a lean samples table, price versions, closed invoices, event time.
//
// A raw sample was ~152 bytes on disk (a 40-byte id stored twice, in the row and its unique index,
// the machine name, the labels' id, two per-sample charge columns nobody read). Now (measured by
// test/bench/ledger-size.ts):
//   samples       run (an id's part before its sequence, interned per agent start), seq, shape (label
//                 set + cores + memory size, interned), start, window length, busy us, used bytes, the
//                 ingestion time (as its lag after the window's end) and adjusted_in; rowid order is
//                 insertion order, so appends fill pages
//   samples_id    UNIQUE (run, seq): the id, exactly (no hash, no collisions)
//   samples_by_start  the time index (usage at ragged range ends, explain, pruning)
// Rollups gain adjusted_in (0, or the period whose invoice bills the samples as an adjustment: they
// came after their own period was closed) and covered_ms (the time their windows cover).
//
// Ledgers of v3 are moved in the same transaction: ids split into runs, usage rollups rebuilt from
// the samples (every sample of a v3 ledger is still there: nothing pruned before v4). The v3 charges
// view and rate_cards table are dropped: prices now live in price_versions, and what v3 kept (a
// digest and a file name) cannot be read back into a rate card. The ingestion time of a v3 sample is
// unknown and taken as its window's end.
import type Database from 'better-sqlite3';
import { RollupBuilder } from '../rollup.js';
import { emptyRows, splitId } from '../rows.js';
import { SqliteInterner } from './interner.js';
import { writeRollups } from './apply.js';
import type { SqliteMigration } from './schema.js';
import { prepareWrites } from './statements.js';

const SQL = `
  DROP VIEW IF EXISTS charges;
  DROP TABLE IF EXISTS rate_cards;
  DROP INDEX IF EXISTS samples_by_start;
  ALTER TABLE samples RENAME TO samples_v3;
  DROP TABLE usage_hourly;
  DROP TABLE usage_monthly;

  -- An id is run:seq; the run (everything before the last ":", or a whole id without a canonical
  -- sequence, whole = 1) is stored once, with the machine whose samples carry it.
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    prefix TEXT NOT NULL,
    whole INTEGER NOT NULL,
    machine TEXT NOT NULL,
    UNIQUE (prefix, whole)
  );
  CREATE INDEX runs_by_machine ON runs (machine);

  -- What a machine's samples repeat: its labels, cores and memory size.
  CREATE TABLE shapes (
    id INTEGER PRIMARY KEY,
    label_set INTEGER NOT NULL,
    cores INTEGER NOT NULL,
    mem_total_bytes INTEGER NOT NULL,
    UNIQUE (label_set, cores, mem_total_bytes)
  );

  -- Every accepted sample, once (its id is run:seq).
  CREATE TABLE samples (
    run INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    shape INTEGER NOT NULL,
    start_ms INTEGER NOT NULL,
    window_ms INTEGER NOT NULL,
    cpu_busy_us INTEGER NOT NULL,
    mem_used_bytes INTEGER NOT NULL,
    ingest_lag_ms INTEGER NOT NULL,          -- ingested at start_ms + window_ms + this
    adjusted_in INTEGER NOT NULL DEFAULT 0   -- 0, or the period start whose invoice bills it (it came late)
  );

  CREATE TABLE usage_hourly (
    hour_ms INTEGER NOT NULL,
    machine TEXT NOT NULL,
    label_set INTEGER NOT NULL,
    adjusted_in INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    cpu_busy_us INTEGER NOT NULL,
    mem_gib_ms INTEGER NOT NULL,
    mem_rem_byte_ms INTEGER NOT NULL,
    covered_ms INTEGER NOT NULL,
    PRIMARY KEY (hour_ms, machine, label_set, adjusted_in)
  ) WITHOUT ROWID;

  CREATE TABLE usage_monthly (
    month_ms INTEGER NOT NULL,
    machine TEXT NOT NULL,
    label_set INTEGER NOT NULL,
    adjusted_in INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    cpu_busy_us INTEGER NOT NULL,
    mem_gib_ms INTEGER NOT NULL,
    mem_rem_byte_ms INTEGER NOT NULL,
    covered_ms INTEGER NOT NULL,
    PRIMARY KEY (month_ms, machine, label_set, adjusted_in)
  ) WITHOUT ROWID;

  -- Rate cards as immutable, effective-dated versions (src/billing/price-versions.ts).
  CREATE TABLE price_versions (
    effective_ms INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    document TEXT NOT NULL,                  -- PriceVersionDocument JSON: exact decimal strings
    budgets TEXT,                            -- the card's budgets list (JSON), not part of the price
    added_ms INTEGER NOT NULL
  );

  -- Closed invoices: written once, never changed.
  CREATE TABLE closed_invoices (
    period TEXT PRIMARY KEY,                 -- YYYY-MM
    period_ms INTEGER NOT NULL UNIQUE,
    number INTEGER NOT NULL UNIQUE,
    closed_ms INTEGER NOT NULL,              -- the ingestion cutoff
    digest TEXT NOT NULL,
    document TEXT NOT NULL
  );

  -- The latest Kafka message timestamp per partition: how far event time has come.
  ALTER TABLE offsets ADD COLUMN max_ts INTEGER NOT NULL DEFAULT 0;
`;

const INDEXES = `
  CREATE UNIQUE INDEX samples_id ON samples (run, seq);
  CREATE INDEX samples_by_start ON samples (start_ms);
`;

type V3Row = { rowid: number; id: string; machine: string; labels: string; start_ms: number; end_ms: number; cores: number; cpu_busy_us: number; mem_used_bytes: number; mem_total_bytes: number };

/** Moves v3 samples into the v4 table and rebuilds the rollups from them, a chunk at a time. */
function moveSamples(db: Database.Database): void {
  const interner = new SqliteInterner(db);
  const w = prepareWrites(db);
  const read = db.prepare(`SELECT s.rowid, s.id, s.machine, l.labels, s.start_ms, s.end_ms, s.cores, s.cpu_busy_us, s.mem_used_bytes, s.mem_total_bytes
                           FROM samples_v3 s JOIN label_sets l ON l.id = s.label_set WHERE s.rowid > ? ORDER BY s.rowid LIMIT 20000`);
  db.exec('DELETE FROM machines');
  let after = 0;
  for (;;) {
    const rows = read.all(after) as V3Row[];
    if (rows.length === 0) break;
    const batch = emptyRows();
    const labelSets: number[] = [];
    for (const r of rows) {
      let { run, seq, whole } = splitId(r.id);
      let runRef = interner.run(run, whole, r.machine);
      // Another machine's run (a producer reusing an id prefix): this id becomes a run of its own.
      if (runRef.machine !== r.machine) {
        ({ run, seq, whole } = { run: r.id, seq: 0, whole: 1 });
        runRef = interner.run(run, whole, r.machine);
      }
      const shape = interner.shape(r.labels, r.cores, r.mem_total_bytes);
      w.insertSample.run(runRef.id, seq, shape.id, r.start_ms, r.end_ms - r.start_ms, r.cpu_busy_us, r.mem_used_bytes, 0, 0);
      batch.runs.push(run);
      batch.machines.push(r.machine);
      batch.labels.push(r.labels);
      batch.values.push(0, r.start_ms, r.end_ms, r.cores, r.cpu_busy_us, r.mem_used_bytes, r.mem_total_bytes, seq, whole);
      labelSets.push(shape.labelSet);
    }
    const rollup = new RollupBuilder();
    labelSets.forEach((labelSet, i) => rollup.add(batch, i, labelSet));
    writeRollups(w, rollup.build());
    after = rows.at(-1)!.rowid;
  }
  db.exec('DROP TABLE samples_v3');
}

export const V4_LEAN_SAMPLES: SqliteMigration = {
  version: 4,
  description: 'lean samples (ids as run and sequence), adjustments and coverage in the rollups, price versions, closed invoices, event time',
  sql: SQL,
  upgrade(db) {
    moveSamples(db);
    db.exec(INDEXES);
  },
};
