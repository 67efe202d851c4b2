// The SQLite ledger: the billing worker's only state, and what the console and `meter invoice` read.
// One file, WAL mode, so several workers on one host write it (one transaction at a time, waiting on
// the busy timeout) while readers read a consistent snapshot without blocking them.
import { mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MeterError, errorMessage } from '../cli/errors.js';
import { memoryUsage } from '../billing/money.js';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS } from './schema.js';

export interface OpenLedgerOptions {
  /** Open for reading only (the console, `meter invoice`): never creates, never migrates. */
  readonly?: boolean;
  /** How long a write waits for another writer's transaction, in ms. */
  busyTimeoutMs?: number;
}

/** One accepted sample, ready for the ledger: usage already in integer units, charge already rated. */
export interface LedgerSample {
  offset: number;
  id: string;
  machine: string;
  /** Canonical JSON of the labels (see canonicalLabels). */
  labels: string;
  start: number;
  end: number;
  cores: number;
  cpuBusyUs: number;
  memUsedBytes: number;
  memTotalBytes: number;
  cpuMicros: number;
  memMicros: number;
}

/** Numbers per row in SampleRows.values, in this order. */
export const ROW_FIELDS = 9;

/**
 * The accepted samples of one batch, column by column: cheap to build, and cheap to hand to another
 * thread (a few arrays instead of thousands of objects). Every number is a safe integer.
 */
export interface SampleRows {
  ids: string[];
  machines: string[];
  /** Canonical JSON of each sample's labels (see canonicalLabels). */
  labels: string[];
  /** offset, start, end, cores, cpuBusyUs, memUsedBytes, memTotalBytes, cpuMicros, memMicros per row. */
  values: number[];
}

export const emptyRows = (): SampleRows => ({ ids: [], machines: [], labels: [], values: [] });

export function pushRow(rows: SampleRows, s: LedgerSample): void {
  rows.ids.push(s.id);
  rows.machines.push(s.machine);
  rows.labels.push(s.labels);
  rows.values.push(s.offset, s.start, s.end, s.cores, s.cpuBusyUs, s.memUsedBytes, s.memTotalBytes, s.cpuMicros, s.memMicros);
}

/** Row i as an object (tests, tools). */
export function rowAt(rows: SampleRows, i: number): LedgerSample {
  const v = rows.values;
  const b = i * ROW_FIELDS;
  return {
    id: rows.ids[i]!,
    machine: rows.machines[i]!,
    labels: rows.labels[i]!,
    offset: v[b]!,
    start: v[b + 1]!,
    end: v[b + 2]!,
    cores: v[b + 3]!,
    cpuBusyUs: v[b + 4]!,
    memUsedBytes: v[b + 5]!,
    memTotalBytes: v[b + 6]!,
    cpuMicros: v[b + 7]!,
    memMicros: v[b + 8]!,
  };
}

/** One message that was not valid Sample v1 (already sent to the DLQ). */
export interface LedgerReject {
  offset: number;
  code: string;
  reason: string;
}

/** Everything one Kafka batch changes, applied in one transaction. */
export interface LedgerBatch {
  group: string;
  topic: string;
  partition: number;
  /**
   * The offset the batch was fetched from. It must not be past the ledger's next offset: a batch that
   * would leave a gap (one before it failed) is refused with LedgerGapError, so nothing is skipped.
   * Defaults to the batch's lowest offset.
   */
  fetchedOffset?: number;
  /**
   * The offsets between the ledger's next offset and fetchedOffset no longer exist in Kafka (deleted by
   * retention before they were read): accept the gap, and count them in the "lost" counter.
   */
  retentionGap?: boolean;
  /** The batch's last offset: the ledger's next offset becomes lastOffset + 1. */
  lastOffset: number;
  samples: SampleRows;
  rejects: LedgerReject[];
  /** From registerRateCard(). */
  rateCardId: number;
  now?: number;
}

export interface ApplyResult {
  /** New samples written. */
  inserted: number;
  /** Samples whose id was already in the ledger (duplicates, replays). */
  duplicates: number;
  /** Messages below the ledger's offset: already applied by an earlier batch. */
  skipped: number;
  /** Invalid messages counted. */
  rejected: number;
  nextOffset: number;
}

/** A batch that starts past the ledger's offset for its partition: applying it would lose messages. */
export class LedgerGapError extends Error {
  override readonly name = 'LedgerGapError';
  constructor(
    readonly partition: number,
    readonly fetchedOffset: number,
    readonly nextOffset: number,
  ) {
    super(`batch of partition ${partition} starts at offset ${fetchedOffset}, past the ledger's next offset ${nextOffset}`);
  }
}

export interface OffsetRow {
  group: string;
  topic: string;
  partition: number;
  nextOffset: number;
}

export interface MachineRow {
  machine: string;
  labels: Record<string, string>;
  firstSeen: number;
  lastSeen: number;
  samples: number;
}

/** Usage of one machine under one label set over a time range, in exact integer units. */
export interface UsageRow {
  machine: string;
  labelSet: number;
  labels: Record<string, string>;
  samples: number;
  cpuBusyUs: bigint;
  memByteMs: bigint;
}

export const HOUR_MS = 3_600_000;
const GIB = 2 ** 30;

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

export function monthOf(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonth(monthStart: number): number {
  const d = new Date(monthStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Labels as JSON with sorted keys, so equal label maps intern to the same label set. */
export function canonicalLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '{}';
  keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(labels[k])}`;
  }
  return `${out}}`;
}

/** A time range split by what can answer it exactly: whole months, whole hours, raw samples. */
export interface RangeParts {
  months: [number, number][];
  hours: [number, number][];
  raw: [number, number][];
}

export function splitRange(from: number, to: number): RangeParts {
  const parts: RangeParts = { months: [], hours: [], raw: [] };
  if (to <= from) return parts;
  const h0 = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const h1 = hourOf(to);
  if (h0 >= h1) {
    parts.raw.push([from, to]);
    return parts;
  }
  if (from < h0) parts.raw.push([from, h0]);
  let m0 = monthOf(h0);
  if (m0 < h0) m0 = nextMonth(m0);
  const m1 = monthOf(h1);
  if (m0 < m1) {
    if (h0 < m0) parts.hours.push([h0, m0]);
    parts.months.push([m0, m1]);
    if (m1 < h1) parts.hours.push([m1, h1]);
  } else {
    parts.hours.push([h0, h1]);
  }
  if (h1 < to) parts.raw.push([h1, to]);
  return parts;
}

interface Aggregate {
  a: number; // hour or month start
  machine: string;
  labelSet: number;
  samples: number;
  cpuBusyUs: number;
  memGibMs: number;
  memRemByteMs: number;
}

interface MachineAggregate {
  labelSet: number;
  firstSeen: number;
  lastSeen: number;
  samples: number;
}

type Stmt = Database.Statement;

export class Ledger {
  readonly db: Database.Database;
  private readonly labelIds = new Map<string, number>();
  private readonly labelsById = new Map<number, Record<string, string>>();
  private readonly monthOfHour = new Map<number, number>();
  private statements?: Record<string, Stmt>;
  private applyTransaction?: Database.Transaction<(batch: LedgerBatch) => ApplyResult>;

  constructor(
    readonly path: string,
    db: Database.Database,
    readonly readonly: boolean,
  ) {
    this.db = db;
  }

  private get s(): Record<string, Stmt> {
    if (!this.statements) {
      const p = (sql: string) => this.db.prepare(sql);
      this.statements = {
        getOffset: p('SELECT next_offset FROM offsets WHERE grp = ? AND topic = ? AND partition = ?'),
        offsets: p('SELECT grp, topic, partition, next_offset FROM offsets ORDER BY grp, topic, partition'),
        labelId: p('SELECT id FROM label_sets WHERE labels = ?'),
        labelsById: p('SELECT labels FROM label_sets WHERE id = ?'),
        machines: p(`SELECT m.machine, l.labels, m.first_seen_ms, m.last_seen_ms, m.samples
                     FROM machines m JOIN label_sets l ON l.id = m.label_set ORDER BY m.machine`),
        counter: p('SELECT value FROM counters WHERE name = ?'),
        dlq: p('SELECT topic, reason, count, last_detail FROM dlq_counts ORDER BY topic, reason'),
        monthly: p(`SELECT machine, label_set, SUM(samples) AS samples, SUM(cpu_busy_us) AS cpu, SUM(mem_gib_ms) AS gib,
                    SUM(mem_rem_byte_ms) AS rem FROM usage_monthly WHERE month_ms >= ? AND month_ms < ?
                    GROUP BY machine, label_set`).safeIntegers(true),
        hourly: p(`SELECT machine, label_set, SUM(samples) AS samples, SUM(cpu_busy_us) AS cpu, SUM(mem_gib_ms) AS gib,
                   SUM(mem_rem_byte_ms) AS rem FROM usage_hourly WHERE hour_ms >= ? AND hour_ms < ?
                   GROUP BY machine, label_set`).safeIntegers(true),
        raw: p(`SELECT machine, label_set, start_ms, end_ms, cpu_busy_us, mem_used_bytes FROM samples
                WHERE start_ms >= ? AND start_ms < ?`).safeIntegers(true),
      };
      if (!this.readonly) {
        Object.assign(this.statements, {
          insertLabels: p('INSERT OR IGNORE INTO label_sets (labels) VALUES (?)'),
          insertSample: p(`INSERT OR IGNORE INTO samples (id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us,
                           mem_used_bytes, mem_total_bytes, src_partition, src_offset, rate_card, cpu_micros, mem_micros)
                           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`),
          upsertHourly: p(`INSERT INTO usage_hourly (hour_ms, machine, label_set, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms)
                           VALUES (?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET samples = samples + excluded.samples,
                           cpu_busy_us = cpu_busy_us + excluded.cpu_busy_us, mem_gib_ms = mem_gib_ms + excluded.mem_gib_ms,
                           mem_rem_byte_ms = mem_rem_byte_ms + excluded.mem_rem_byte_ms`),
          upsertMonthly: p(`INSERT INTO usage_monthly (month_ms, machine, label_set, samples, cpu_busy_us, mem_gib_ms, mem_rem_byte_ms)
                            VALUES (?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET samples = samples + excluded.samples,
                            cpu_busy_us = cpu_busy_us + excluded.cpu_busy_us, mem_gib_ms = mem_gib_ms + excluded.mem_gib_ms,
                            mem_rem_byte_ms = mem_rem_byte_ms + excluded.mem_rem_byte_ms`),
          upsertMachine: p(`INSERT INTO machines (machine, label_set, first_seen_ms, last_seen_ms, samples) VALUES (?,?,?,?,?)
                            ON CONFLICT DO UPDATE SET
                              label_set = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN excluded.label_set ELSE label_set END,
                              first_seen_ms = MIN(first_seen_ms, excluded.first_seen_ms),
                              last_seen_ms = MAX(last_seen_ms, excluded.last_seen_ms),
                              samples = samples + excluded.samples`),
          upsertOffset: p(`INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES (?,?,?,?,?)
                           ON CONFLICT DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset), updated_ms = excluded.updated_ms`),
          upsertDlq: p(`INSERT INTO dlq_counts (topic, reason, count, last_detail, last_ms) VALUES (?,?,?,?,?)
                        ON CONFLICT DO UPDATE SET count = count + excluded.count, last_detail = excluded.last_detail,
                        last_ms = excluded.last_ms`),
          addCounter: p(`INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value`),
          insertRateCard: p('INSERT OR IGNORE INTO rate_cards (digest, currency, source, first_used_ms) VALUES (?,?,?,?)'),
          rateCardId: p('SELECT id FROM rate_cards WHERE digest = ?'),
        });
      }
    }
    return this.statements;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The next offset to apply for a partition, or undefined when the ledger has none. */
  nextOffset(group: string, topic: string, partition: number): number | undefined {
    const row = this.s.getOffset!.get(group, topic, partition) as { next_offset: number } | undefined;
    return row?.next_offset;
  }

  offsets(): OffsetRow[] {
    return (this.s.offsets!.all() as { grp: string; topic: string; partition: number; next_offset: number }[]).map((r) => ({
      group: r.grp,
      topic: r.topic,
      partition: r.partition,
      nextOffset: r.next_offset,
    }));
  }

  counter(name: string): number {
    return (this.s.counter!.get(name) as { value: number } | undefined)?.value ?? 0;
  }

  dlqCounts(): { topic: string; reason: string; count: number; lastDetail: string }[] {
    return (this.s.dlq!.all() as { topic: string; reason: string; count: number; last_detail: string }[]).map((r) => ({
      topic: r.topic,
      reason: r.reason,
      count: r.count,
      lastDetail: r.last_detail,
    }));
  }

  labels(labelSet: number): Record<string, string> {
    let labels = this.labelsById.get(labelSet);
    if (!labels) {
      const row = this.s.labelsById!.get(labelSet) as { labels: string } | undefined;
      labels = row ? (JSON.parse(row.labels) as Record<string, string>) : {};
      this.labelsById.set(labelSet, labels);
    }
    return labels;
  }

  machines(): MachineRow[] {
    return (
      this.s.machines!.all() as { machine: string; labels: string; first_seen_ms: number; last_seen_ms: number; samples: number }[]
    ).map((r) => ({
      machine: r.machine,
      labels: JSON.parse(r.labels) as Record<string, string>,
      firstSeen: r.first_seen_ms,
      lastSeen: r.last_seen_ms,
      samples: r.samples,
    }));
  }

  /**
   * Usage per machine and label set of the samples whose window starts in [from, to), exactly: whole
   * months from the monthly table, whole hours from the hourly one, the ragged ends from raw samples.
   * Reads in one transaction, so a concurrent worker's batch is either all in or all out.
   */
  usage(from: number, to: number): UsageRow[] {
    const parts = splitRange(from, to);
    const rows = new Map<string, UsageRow>();
    const add = (machine: string, labelSet: number, samples: number, cpu: bigint, mem: bigint) => {
      const key = `${machine}\u0000${labelSet}`;
      let row = rows.get(key);
      if (!row) {
        row = { machine, labelSet, labels: {}, samples: 0, cpuBusyUs: 0n, memByteMs: 0n };
        rows.set(key, row);
      }
      row.samples += samples;
      row.cpuBusyUs += cpu;
      row.memByteMs += mem;
    };
    type Summed = { machine: string; label_set: bigint; samples: bigint; cpu: bigint; gib: bigint; rem: bigint };
    type Raw = { machine: string; label_set: bigint; start_ms: bigint; end_ms: bigint; cpu_busy_us: bigint; mem_used_bytes: bigint };
    this.db.transaction(() => {
      for (const [stmt, ranges] of [
        [this.s.monthly!, parts.months],
        [this.s.hourly!, parts.hours],
      ] as const) {
        for (const [a, b] of ranges) {
          for (const r of stmt.all(a, b) as Summed[]) {
            add(r.machine, Number(r.label_set), Number(r.samples), r.cpu, (r.gib << 30n) + r.rem);
          }
        }
      }
      for (const [a, b] of parts.raw) {
        for (const r of this.s.raw!.all(a, b) as Raw[]) {
          add(r.machine, Number(r.label_set), 1, r.cpu_busy_us, r.mem_used_bytes * (r.end_ms - r.start_ms));
        }
      }
    })();
    const result = [...rows.values()];
    for (const row of result) row.labels = this.labels(row.labelSet);
    return result.sort((x, y) => (x.machine < y.machine ? -1 : x.machine > y.machine ? 1 : x.labelSet - y.labelSet));
  }

  /** Records a rate card the worker charges with, returning its id for the charges table. */
  registerRateCard(card: { digest: string; currency: string; source: string }, now = Date.now()): number {
    this.requireWritable();
    return this.db
      .transaction(() => {
        this.s.insertRateCard!.run(card.digest, card.currency, card.source, now);
        return (this.s.rateCardId!.get(card.digest) as { id: number }).id;
      })
      .immediate();
  }

  /**
   * Applies one Kafka batch in one IMMEDIATE transaction: new samples and their charges, the usage
   * rollups of the samples actually inserted, DLQ counts, and the partition's next offset. Messages
   * below the ledger's offset are skipped, checked inside the transaction, so a batch delivered twice
   * (a crash before the Kafka commit, a rebalance, a zombie worker) is applied once.
   */
  applyBatch(batch: LedgerBatch): ApplyResult {
    this.requireWritable();
    this.applyTransaction ??= this.db.transaction((b: LedgerBatch) => this.applyInTransaction(b));
    const pending = new Map<string, number>();
    this.pendingLabels = pending;
    try {
      const result = this.applyTransaction.immediate(batch);
      for (const [labels, id] of pending) this.labelIds.set(labels, id);
      return result;
    } finally {
      this.pendingLabels = undefined;
    }
  }

  private pendingLabels?: Map<string, number>;

  private labelSetId(labels: string): number {
    const known = this.labelIds.get(labels) ?? this.pendingLabels?.get(labels);
    if (known !== undefined) return known;
    this.s.insertLabels!.run(labels);
    const id = (this.s.labelId!.get(labels) as { id: number }).id;
    // Only cached once the transaction commits: a rolled-back id may be reused for other labels.
    this.pendingLabels?.set(labels, id);
    return id;
  }

  private monthOfHourStart(hour: number): number {
    let month = this.monthOfHour.get(hour);
    if (month === undefined) {
      month = monthOf(hour);
      if (this.monthOfHour.size > 10_000) this.monthOfHour.clear();
      this.monthOfHour.set(hour, month);
    }
    return month;
  }

  private applyInTransaction(batch: LedgerBatch): ApplyResult {
    const s = this.s;
    const now = batch.now ?? Date.now();
    const known = this.nextOffset(batch.group, batch.topic, batch.partition);
    if (known !== undefined) {
      let first = batch.fetchedOffset;
      if (first === undefined) {
        first = batch.lastOffset;
        const v = batch.samples.values;
        for (let b = 0; b < v.length; b += ROW_FIELDS) if (v[b]! < first) first = v[b]!;
        for (const r of batch.rejects) if (r.offset < first) first = r.offset;
      }
      if (first > known) {
        if (!batch.retentionGap) throw new LedgerGapError(batch.partition, first, known);
        s.addCounter!.run('lost', first - known);
      }
    }
    const current = known ?? 0;
    let inserted = 0;
    let duplicates = 0;
    let skipped = 0;
    // Rollups of the rows actually inserted, summed in memory and written once per bucket.
    const hourly = new Map<string, Aggregate>();
    const machines = new Map<string, MachineAggregate & { bucket?: Aggregate }>();
    const insertSample = s.insertSample!;
    const { partition, rateCardId } = batch;
    const { ids, machines: machineNames, labels, values: v } = batch.samples;
    for (let i = 0, b = 0; i < ids.length; i++, b += ROW_FIELDS) {
      const offset = v[b]!;
      if (offset < current) {
        skipped++;
        continue;
      }
      const machine = machineNames[i]!;
      const start = v[b + 1]!;
      const end = v[b + 2]!;
      const cpuBusyUs = v[b + 4]!;
      const memUsedBytes = v[b + 5]!;
      const labelSet = this.labelSetId(labels[i]!);
      const info = insertSample.run(
        ids[i]!,
        machine,
        labelSet,
        start,
        end,
        v[b + 3]!,
        cpuBusyUs,
        memUsedBytes,
        v[b + 6]!,
        partition,
        offset,
        rateCardId,
        v[b + 7]!,
        v[b + 8]!,
      );
      if (info.changes === 0) {
        duplicates++;
        continue;
      }
      inserted++;
      // byte-ms as whole GiB-ms plus a remainder (see memoryUsage), inline: this loop is the hot path.
      const byteMs = memUsedBytes * (end - start);
      let gibMs: number;
      let remByteMs: number;
      if (Number.isSafeInteger(byteMs)) {
        gibMs = Math.floor(byteMs / GIB);
        remByteMs = byteMs - gibMs * GIB;
      } else {
        ({ gibMs, remByteMs } = memoryUsage(memUsedBytes, end - start));
      }
      const hour = start - (((start % HOUR_MS) + HOUR_MS) % HOUR_MS);
      let m = machines.get(machine);
      if (!m) {
        m = { labelSet, firstSeen: start, lastSeen: end, samples: 0 };
        machines.set(machine, m);
      } else {
        if (end >= m.lastSeen) {
          m.lastSeen = end;
          m.labelSet = labelSet;
        }
        if (start < m.firstSeen) m.firstSeen = start;
      }
      m.samples++;
      // A machine's samples in one batch mostly share an hour and labels: keep its last bucket at hand.
      let agg = m.bucket;
      if (!agg || agg.a !== hour || agg.labelSet !== labelSet) {
        const key = `${hour}\u0000${labelSet}\u0000${machine}`;
        agg = hourly.get(key);
        if (!agg) {
          agg = { a: hour, machine, labelSet, samples: 0, cpuBusyUs: 0, memGibMs: 0, memRemByteMs: 0 };
          hourly.set(key, agg);
        }
        m.bucket = agg;
      }
      agg.samples += 1;
      agg.cpuBusyUs += cpuBusyUs;
      agg.memGibMs += gibMs;
      agg.memRemByteMs += remByteMs;
    }
    const monthly = new Map<string, Aggregate>();
    for (const g of hourly.values()) {
      s.upsertHourly!.run(g.a, g.machine, g.labelSet, g.samples, g.cpuBusyUs, g.memGibMs, g.memRemByteMs);
      const month = this.monthOfHourStart(g.a);
      const key = `${month}\u0000${g.labelSet}\u0000${g.machine}`;
      const agg = monthly.get(key);
      if (agg) {
        agg.samples += g.samples;
        agg.cpuBusyUs += g.cpuBusyUs;
        agg.memGibMs += g.memGibMs;
        agg.memRemByteMs += g.memRemByteMs;
      } else {
        monthly.set(key, { ...g, a: month });
      }
    }
    for (const g of monthly.values()) {
      s.upsertMonthly!.run(g.a, g.machine, g.labelSet, g.samples, g.cpuBusyUs, g.memGibMs, g.memRemByteMs);
    }
    for (const [machine, m] of machines) s.upsertMachine!.run(machine, m.labelSet, m.firstSeen, m.lastSeen, m.samples);
    let rejected = 0;
    const byCode = new Map<string, { count: number; reason: string }>();
    for (const reject of batch.rejects) {
      if (reject.offset < current) {
        skipped++;
        continue;
      }
      rejected++;
      const c = byCode.get(reject.code);
      if (c) {
        c.count++;
        c.reason = reject.reason;
      } else {
        byCode.set(reject.code, { count: 1, reason: reject.reason });
      }
    }
    for (const [code, c] of byCode) s.upsertDlq!.run(batch.topic, code, c.count, c.reason, now);
    if (inserted) s.addCounter!.run('samples', inserted);
    if (duplicates) s.addCounter!.run('duplicates', duplicates);
    if (rejected) s.addCounter!.run('dlq', rejected);
    const nextOffset = Math.max(current, batch.lastOffset + 1);
    s.upsertOffset!.run(batch.group, batch.topic, batch.partition, nextOffset, now);
    return { inserted, duplicates, skipped, rejected, nextOffset };
  }

  private requireWritable(): void {
    if (this.readonly) throw new Error('ledger opened read-only');
  }
}

function notALedger(path: string, why: string): MeterError {
  return new MeterError(`ledger ${path} ${why}`);
}

function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > LEDGER_SCHEMA_VERSION) {
      throw notALedger(path, `has schema v${version}, newer than this meter (v${LEDGER_SCHEMA_VERSION}); upgrade meter`);
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

/**
 * Opens (and, for writing, creates and migrates) the ledger at `path`. Read-only opens fail with a
 * one-line MeterError when the file is missing or is not a ledger.
 */
export function openLedger(path: string, options: OpenLedgerOptions = {}): Ledger {
  const readonly = options.readonly ?? false;
  if (readonly && !existsSync(path)) {
    throw new MeterError(`ledger ${path} not found; run \`meter worker\` first or pass --ledger`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw notALedger(path, 'is a directory; pass --ledger with a file path');
  }
  let db: Database.Database;
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw notALedger(path, `cannot be opened: ${errorMessage(error)}`);
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    if (readonly) {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) throw notALedger(path, 'is not a meter ledger (no schema); run `meter worker` to create one');
      if (version > LEDGER_SCHEMA_VERSION) {
        throw notALedger(path, `has schema v${version}, newer than this meter (v${LEDGER_SCHEMA_VERSION}); upgrade meter`);
      }
      if (version < LEDGER_SCHEMA_VERSION) {
        throw notALedger(path, `has schema v${version}; run \`meter worker\` once to migrate it to v${LEDGER_SCHEMA_VERSION}`);
      }
    } else {
      db.pragma('journal_mode = WAL');
      // NORMAL: in WAL mode a commit survives a crash of the process (kill -9) but may be lost with
      // power; that loses nothing, because the worker resumes from the ledger's own offsets and
      // reads those messages again from Kafka.
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -65536');
      migrate(db, path);
    }
    return new Ledger(path, db, readonly);
  } catch (error) {
    db.close();
    if (error instanceof MeterError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw notALedger(path, 'is not a meter ledger (not a SQLite database)');
    throw notALedger(path, `cannot be used: ${errorMessage(error)}`);
  }
}
