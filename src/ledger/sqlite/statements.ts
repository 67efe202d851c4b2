// The SQLite ledger's prepared statements, prepared once per connection on first use.
import type Database from 'better-sqlite3';

type Stmt = Database.Statement;

export interface ReadStatements {
  getOffset: Stmt;
  offsets: Stmt;
  labelId: Stmt;
  labelsById: Stmt;
  machines: Stmt;
  counters: Stmt;
  dlq: Stmt;
  monthly: Stmt;
  hourly: Stmt;
  raw: Stmt;
  meta: Stmt;
  resets: Stmt;
  alertSent: Stmt;
}

export interface WriteStatements {
  insertLabels: Stmt;
  insertSample: Stmt;
  upsertHourly: Stmt;
  upsertMonthly: Stmt;
  upsertMachine: Stmt;
  upsertOffset: Stmt;
  claimOffset: Stmt;
  setOffset: Stmt;
  insertReset: Stmt;
  upsertDlq: Stmt;
  addCounter: Stmt;
  insertRateCard: Stmt;
  rateCardId: Stmt;
  recordAlert: Stmt;
}

const USAGE_SUMS = 'SUM(samples) AS samples, SUM(cpu_busy_us) AS cpu, SUM(mem_gib_ms) AS gib, SUM(mem_rem_byte_ms) AS rem';
const ADD_USAGE = `ON CONFLICT DO UPDATE SET samples = samples + excluded.samples, cpu_busy_us = cpu_busy_us + excluded.cpu_busy_us,
  mem_gib_ms = mem_gib_ms + excluded.mem_gib_ms, mem_rem_byte_ms = mem_rem_byte_ms + excluded.mem_rem_byte_ms`;

export function prepareReads(db: Database.Database): ReadStatements {
  const p = (sql: string) => db.prepare(sql);
  return {
    getOffset: p('SELECT next_offset FROM offsets WHERE grp = ? AND topic = ? AND partition = ?'),
    offsets: p('SELECT grp, topic, partition, next_offset FROM offsets ORDER BY grp, topic, partition'),
    labelId: p('SELECT id FROM label_sets WHERE labels = ?'),
    labelsById: p('SELECT labels FROM label_sets WHERE id = ?'),
    machines: p(`SELECT m.machine, l.labels, m.first_seen_ms, m.last_seen_ms, m.samples
                 FROM machines m JOIN label_sets l ON l.id = m.label_set ORDER BY m.machine`),
    counters: p('SELECT name, value FROM counters'),
    dlq: p('SELECT topic, reason, count, last_detail FROM dlq_counts ORDER BY topic, reason'),
    monthly: p(`SELECT machine, label_set, ${USAGE_SUMS} FROM usage_monthly WHERE month_ms >= ? AND month_ms < ?
                GROUP BY machine, label_set`).safeIntegers(true),
    hourly: p(`SELECT machine, label_set, ${USAGE_SUMS} FROM usage_hourly WHERE hour_ms >= ? AND hour_ms < ?
               GROUP BY machine, label_set`).safeIntegers(true),
    raw: p(`SELECT machine, label_set, start_ms, end_ms, cpu_busy_us, mem_used_bytes FROM samples
            WHERE start_ms >= ? AND start_ms < ?`).safeIntegers(true),
    meta: p('SELECT value FROM ledger_meta WHERE key = ?'),
    resets: p('SELECT grp, topic, partition, from_offset, to_offset, skipped, reason, at_ms FROM offset_resets ORDER BY id'),
    alertSent: p('SELECT 1 FROM budget_alerts WHERE budget = ? AND period = ? AND threshold = ?'),
  };
}

export function prepareWrites(db: Database.Database): WriteStatements {
  const p = (sql: string) => db.prepare(sql);
  return {
    insertLabels: p('INSERT OR IGNORE INTO label_sets (labels) VALUES (?)'),
    insertSample: p(`INSERT OR IGNORE INTO samples (id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us,
                     mem_used_bytes, mem_total_bytes, src_partition, src_offset, rate_card, cpu_micros, mem_micros)
                     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
    upsertHourly: p(`INSERT INTO usage_hourly (hour_ms, machine, label_set, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms)
                     VALUES (?,?,?,?,?,?,?) ${ADD_USAGE}`),
    upsertMonthly: p(`INSERT INTO usage_monthly (month_ms, machine, label_set, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms)
                      VALUES (?,?,?,?,?,?,?) ${ADD_USAGE}`),
    upsertMachine: p(`INSERT INTO machines (machine, label_set, first_seen_ms, last_seen_ms, samples) VALUES (?,?,?,?,?)
                      ON CONFLICT DO UPDATE SET
                        label_set = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.label_set ELSE label_set END,
                        first_seen_ms = MIN(first_seen_ms, excluded.first_seen_ms),
                        last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms),
                        samples = samples + excluded.samples`),
    upsertOffset: p(`INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES (?,?,?,?,?)
                     ON CONFLICT DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset), updated_ms = excluded.updated_ms`),
    claimOffset: p('INSERT OR IGNORE INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES (?,?,?,?,?)'),
    setOffset: p(`INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES (?,?,?,?,?)
                  ON CONFLICT DO UPDATE SET next_offset = excluded.next_offset, updated_ms = excluded.updated_ms`),
    insertReset: p(`INSERT INTO offset_resets (grp, topic, partition, from_offset, to_offset, skipped, reason, at_ms)
                    VALUES (?,?,?,?,?,?,?,?)`),
    upsertDlq: p(`INSERT INTO dlq_counts (topic, reason, count, last_detail, last_ms) VALUES (?,?,?,?,?)
                  ON CONFLICT DO UPDATE SET count = count + excluded.count, last_detail = excluded.last_detail,
                  last_ms = excluded.last_ms`),
    addCounter: p('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value'),
    insertRateCard: p('INSERT OR IGNORE INTO rate_cards (digest, currency, source, first_used_ms) VALUES (?,?,?,?)'),
    rateCardId: p('SELECT id FROM rate_cards WHERE digest = ?'),
    recordAlert: p('INSERT OR IGNORE INTO budget_alerts (budget, period, threshold, sent_ms) VALUES (?, ?, ?, ?)'),
  };
}
