// The SQLite ledger's schema, as numbered migrations. openSqliteLedger() applies the missing ones inside one
// IMMEDIATE transaction, so two workers opening a new ledger at once apply each migration once;
// every statement is also idempotent (IF NOT EXISTS), so running them twice changes nothing.
//
// Units (all exact integers; see src/billing/money.ts):
//   cpu_busy_us      CPU time busy, in microseconds across all cores (busySeconds x 10^6, rounded)
//   mem_gib_ms, mem_rem_byte_ms
//                    memory used x window, in byte-milliseconds, split as gib_ms x 2^30 + rem so that
//                    sums never overflow 64 bits
//   covered_ms       sum of the samples' window lengths
// A sample belongs to the hour (and month, UTC) in which its window starts. Versions 1 to 3 are kept
// as they shipped (ledgers of every version are migrated from where they are); version 4, the lean
// samples table, price versions and closed invoices, is in v4-lean-samples.ts.
import type Database from 'better-sqlite3';
import { V4_LEAN_SAMPLES } from './v4-lean-samples.js';
import { RUN_START_INDEX_DESCRIPTION, RUN_START_INDEX_SQL } from '../history-spans.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** A SQLite migration: its SQL, then (in the same transaction) a data move that SQL cannot do. */
export interface SqliteMigration extends Migration {
  upgrade?: (db: Database.Database) => void;
}

export const MIGRATIONS: SqliteMigration[] = [
  {
    version: 1,
    description: 'samples, label sets, charges, hourly and monthly usage, machines, offsets, DLQ counts',
    sql: `
      CREATE TABLE IF NOT EXISTS label_sets (
        id INTEGER PRIMARY KEY,
        labels TEXT NOT NULL UNIQUE              -- canonical JSON object, keys sorted
      );

      -- Every accepted sample, once: the id is the Sample v1 id, so a duplicate changes nothing. Its
      -- charge (the charges view) is stored in the same row, so a sample costs one insert.
      CREATE TABLE IF NOT EXISTS samples (
        id TEXT NOT NULL UNIQUE,
        machine TEXT NOT NULL,
        label_set INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        cores INTEGER NOT NULL,
        cpu_busy_us INTEGER NOT NULL,
        mem_used_bytes INTEGER NOT NULL,
        mem_total_bytes INTEGER NOT NULL,
        src_partition INTEGER NOT NULL,          -- where it was first read from
        src_offset INTEGER NOT NULL,
        rate_card INTEGER NOT NULL,              -- rate_cards.id the charge was computed with
        cpu_micros INTEGER NOT NULL,
        mem_micros INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS samples_by_start ON samples (start_ms);

      CREATE TABLE IF NOT EXISTS rate_cards (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        currency TEXT NOT NULL,
        source TEXT NOT NULL,
        first_used_ms INTEGER NOT NULL
      );

      -- Each sample's charge at its plan's first-tier price, written with the sample. The invoice
      -- rates the usage tables through the tiers instead; these are the running, per-sample record.
      CREATE VIEW IF NOT EXISTS charges AS
        SELECT s.rowid AS sample, s.id AS sample_id, s.machine, s.start_ms, s.rate_card, r.currency,
               s.cpu_micros, s.mem_micros
        FROM samples s JOIN rate_cards r ON r.id = s.rate_card;

      CREATE TABLE IF NOT EXISTS usage_hourly (
        hour_ms INTEGER NOT NULL,
        machine TEXT NOT NULL,
        label_set INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        cpu_busy_us INTEGER NOT NULL,
        mem_gib_ms INTEGER NOT NULL,
        mem_rem_byte_ms INTEGER NOT NULL,
        PRIMARY KEY (hour_ms, machine, label_set)
      ) WITHOUT ROWID;

      CREATE TABLE IF NOT EXISTS usage_monthly (
        month_ms INTEGER NOT NULL,
        machine TEXT NOT NULL,
        label_set INTEGER NOT NULL,
        samples INTEGER NOT NULL,
        cpu_busy_us INTEGER NOT NULL,
        mem_gib_ms INTEGER NOT NULL,
        mem_rem_byte_ms INTEGER NOT NULL,
        PRIMARY KEY (month_ms, machine, label_set)
      ) WITHOUT ROWID;

      CREATE TABLE IF NOT EXISTS machines (
        machine TEXT PRIMARY KEY,
        label_set INTEGER NOT NULL,              -- labels of its latest sample
        first_seen_ms INTEGER NOT NULL,          -- earliest window start
        last_seen_ms INTEGER NOT NULL,           -- latest window end
        samples INTEGER NOT NULL
      ) WITHOUT ROWID;

      -- The ledger's own consumer offsets: the next offset to apply per group and partition. Written in
      -- the same transaction as the samples, so they are the truth; Kafka's committed offsets follow.
      CREATE TABLE IF NOT EXISTS offsets (
        grp TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition INTEGER NOT NULL,
        next_offset INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (grp, topic, partition)
      ) WITHOUT ROWID;

      CREATE TABLE IF NOT EXISTS dlq_counts (
        topic TEXT NOT NULL,                     -- the source topic
        reason TEXT NOT NULL,                    -- a RejectCode from src/schema/sample.ts
        count INTEGER NOT NULL,
        last_detail TEXT NOT NULL,               -- the full reason of the latest one
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (topic, reason)
      ) WITHOUT ROWID;

      CREATE TABLE IF NOT EXISTS counters (
        name TEXT PRIMARY KEY,                   -- samples, duplicates, dlq, lost, skipped
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'budget alerts already sent, once per budget, period and threshold',
    sql: `
      -- \`meter budgets --notify\` posts each crossing once per billing period; a row here means the
      -- webhook acknowledged it. Only a delivered alert is recorded, so a failed one is tried again.
      CREATE TABLE IF NOT EXISTS budget_alerts (
        budget TEXT NOT NULL,
        period TEXT NOT NULL,                    -- YYYY-MM
        threshold INTEGER NOT NULL,              -- percent of the budget: 80 or 100
        sent_ms INTEGER NOT NULL,
        PRIMARY KEY (budget, period, threshold)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: "the ledger's identity, and the recovery command's record",
    sql: `
      -- Who this ledger is: a random id made once, at creation. The worker commits Kafka offsets with
      -- it, and refuses a group's partition committed by another ledger.
      CREATE TABLE IF NOT EXISTS ledger_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('id', lower(hex(randomblob(16))));
      INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('created_ms', CAST(strftime('%s', 'now') AS INTEGER) * 1000);

      -- Every use of \`meter ledger offsets --reset-to-log\`: which partition moved from where to where,
      -- how many offsets it passed over unbilled (also in counters.skipped), and why.
      CREATE TABLE IF NOT EXISTS offset_resets (
        id INTEGER PRIMARY KEY,
        grp TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition INTEGER NOT NULL,
        from_offset INTEGER NOT NULL,
        to_offset INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at_ms INTEGER NOT NULL
      );
    `,
  },
  V4_LEAN_SAMPLES,
  { version: 5, description: RUN_START_INDEX_DESCRIPTION, sql: RUN_START_INDEX_SQL },
];

export const LEDGER_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;
