// The SQLite engine: one file in WAL mode, so several workers on one host write it (one transaction at
// a time) while readers read a consistent snapshot without blocking them. better-sqlite3 is
// synchronous; the Ledger methods wrap it, and the worker's ledger thread calls applyBatchSync.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { MeterError } from '../../cli/errors.js';
import type {
  ApplyResult,
  DlqCount,
  Ledger,
  LedgerBatch,
  LedgerCounts,
  LedgerIdentity,
  MachineHourUsage,
  MachineRow,
  MachineSample,
  OffsetReset,
  OffsetRow,
  RateCardRef,
  SentAlert,
  TimeSpan,
  UsageRow,
} from '../ledger.js';
import { UsageSums } from '../rollup.js';
import { splitRange } from '../time-buckets.js';
import { SqliteBatchApplier } from './apply.js';
import { SqliteHistory } from './history.js';
import { openSqliteDatabase, type OpenSqliteOptions } from './open.js';
import { prepareReads, prepareWrites, type ReadStatements, type WriteStatements } from './statements.js';

type Summed = { machine: string; label_set: bigint; samples: bigint; cpu: bigint; gib: bigint; rem: bigint };
type Raw = { machine: string; label_set: bigint; start_ms: bigint; end_ms: bigint; cpu_busy_us: bigint; mem_used_bytes: bigint };

/** The name people know a SQLite ledger by: its absolute path and the host it is on. */
export const sqliteLedgerName = (path: string): string => `${resolve(path)} on ${hostname()}`;

export class SqliteLedger implements Ledger {
  readonly engine = 'sqlite' as const;
  readonly identity: LedgerIdentity;
  private readonly labelsById = new Map<number, Record<string, string>>();
  private readonly r: ReadStatements;
  private writes?: WriteStatements;
  private applier?: SqliteBatchApplier;

  constructor(
    readonly path: string,
    readonly db: Database.Database,
    readonly readonly: boolean,
  ) {
    this.r = prepareReads(db);
    const id = (this.r.meta.get('id') as { value: string } | undefined)?.value ?? '';
    this.identity = { id, name: sqliteLedgerName(path) };
  }

  private get w(): WriteStatements {
    if (this.readonly) throw new MeterError(`ledger ${this.path} is open read-only`);
    return (this.writes ??= prepareWrites(this.db));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  nextOffsetSync(group: string, topic: string, partition: number): number | undefined {
    return (this.r.getOffset.get(group, topic, partition) as { next_offset: number } | undefined)?.next_offset;
  }

  async nextOffset(group: string, topic: string, partition: number): Promise<number | undefined> {
    return this.nextOffsetSync(group, topic, partition);
  }

  async offsets(): Promise<OffsetRow[]> {
    return (this.r.offsets.all() as { grp: string; topic: string; partition: number; next_offset: number }[]).map((r) => ({
      group: r.grp,
      topic: r.topic,
      partition: r.partition,
      nextOffset: r.next_offset,
    }));
  }

  async claimPartition(group: string, topic: string, partition: number, startOffset: number, now = Date.now()): Promise<number> {
    return this.db
      .transaction(() => {
        this.w.claimOffset.run(group, topic, partition, startOffset, now);
        return this.nextOffsetSync(group, topic, partition)!;
      })
      .immediate();
  }

  async resetOffset(reset: Omit<OffsetReset, 'skipped' | 'fromOffset'> & { skipped?: number }): Promise<OffsetReset> {
    return this.db
      .transaction((): OffsetReset => {
        const fromOffset = this.nextOffsetSync(reset.group, reset.topic, reset.partition) ?? 0;
        const skipped = reset.skipped ?? Math.max(0, reset.toOffset - fromOffset);
        this.w.setOffset.run(reset.group, reset.topic, reset.partition, reset.toOffset, reset.at);
        this.w.insertReset.run(reset.group, reset.topic, reset.partition, fromOffset, reset.toOffset, skipped, reset.reason, reset.at);
        if (skipped) this.w.addCounter.run('skipped', skipped);
        return { ...reset, fromOffset, skipped };
      })
      .immediate();
  }

  async offsetResets(): Promise<OffsetReset[]> {
    type Row = { grp: string; topic: string; partition: number; from_offset: number; to_offset: number; skipped: number; reason: string; at_ms: number };
    return (this.r.resets.all() as Row[]).map((r) => ({
      group: r.grp,
      topic: r.topic,
      partition: r.partition,
      fromOffset: r.from_offset,
      toOffset: r.to_offset,
      skipped: r.skipped,
      reason: r.reason,
      at: r.at_ms,
    }));
  }

  async registerRateCard(card: RateCardRef, now = Date.now()): Promise<number> {
    return this.db
      .transaction(() => {
        this.w.insertRateCard.run(card.digest, card.currency, card.source, now);
        return (this.w.rateCardId.get(card.digest) as { id: number }).id;
      })
      .immediate();
  }

  /** applyBatch on the calling thread, synchronously (the worker's ledger thread). */
  applyBatchSync(batch: LedgerBatch): ApplyResult {
    this.applier ??= new SqliteBatchApplier(this.db, this.r, this.w);
    return this.applier.apply(batch);
  }

  async applyBatch(batch: LedgerBatch): Promise<ApplyResult> {
    return this.applyBatchSync(batch);
  }

  async counts(): Promise<LedgerCounts> {
    const counts: LedgerCounts = { samples: 0, duplicates: 0, dlq: 0, lost: 0, skipped: 0 };
    for (const { name, value } of this.r.counters.all() as { name: keyof LedgerCounts; value: number }[]) {
      if (name in counts) counts[name] = value;
    }
    return counts;
  }

  async dlqCounts(): Promise<DlqCount[]> {
    return (this.r.dlq.all() as { topic: string; reason: string; count: number; last_detail: string }[]).map((r) => ({
      topic: r.topic,
      reason: r.reason,
      count: r.count,
      lastDetail: r.last_detail,
    }));
  }

  private labels(labelSet: number): Record<string, string> {
    let labels = this.labelsById.get(labelSet);
    if (!labels) {
      const row = this.r.labelsById.get(labelSet) as { labels: string } | undefined;
      labels = row ? (JSON.parse(row.labels) as Record<string, string>) : {};
      this.labelsById.set(labelSet, labels);
    }
    return labels;
  }

  async machines(): Promise<MachineRow[]> {
    type Row = { machine: string; labels: string; first_seen_ms: number; last_seen_ms: number; samples: number };
    return (this.r.machines.all() as Row[]).map((r) => ({
      machine: r.machine,
      labels: JSON.parse(r.labels) as Record<string, string>,
      firstSeen: r.first_seen_ms,
      lastSeen: r.last_seen_ms,
      samples: r.samples,
    }));
  }

  /** Whole months from the monthly table, whole hours from the hourly one, the ragged ends from raw samples; one read transaction. */
  async usage(from: number, to: number): Promise<UsageRow[]> {
    const parts = splitRange(from, to);
    const sums = new UsageSums();
    this.db.transaction(() => {
      for (const [stmt, ranges] of [
        [this.r.monthly, parts.months],
        [this.r.hourly, parts.hours],
      ] as const) {
        for (const [a, b] of ranges) {
          for (const r of stmt.all(a, b) as Summed[]) sums.add(r.machine, Number(r.label_set), Number(r.samples), r.cpu, (r.gib << 30n) + r.rem);
        }
      }
      for (const [a, b] of parts.raw) {
        for (const r of this.r.raw.all(a, b) as Raw[]) {
          sums.add(r.machine, Number(r.label_set), 1, r.cpu_busy_us, r.mem_used_bytes * (r.end_ms - r.start_ms));
        }
      }
    })();
    return sums.list().map((row) => ({ ...row, labels: this.labels(row.labelSet) }));
  }

  private historyReads?: SqliteHistory;
  private get history(): SqliteHistory {
    return (this.historyReads ??= new SqliteHistory(this.db));
  }

  async machineSamples(machine: string, from: number, to: number): Promise<MachineSample[]> {
    return this.history.machineSamples(machine, from, to);
  }

  async recentSamples(machines: readonly string[], since: number, points: number): Promise<Map<string, MachineSample[]>> {
    return this.history.recentSamples(machines, since, points);
  }

  async machineHourlyUsage(machine: string, from: number, to: number): Promise<MachineHourUsage[]> {
    return this.history.machineHourlyUsage(machine, from, to);
  }

  async machineCoverage(machine: string, from: number, to: number): Promise<TimeSpan[]> {
    return this.history.machineCoverage(machine, from, to);
  }

  async alertWasSent(alert: SentAlert): Promise<boolean> {
    return this.r.alertSent.get(alert.budget, alert.period, alert.threshold) !== undefined;
  }

  async recordAlertSent(alert: SentAlert, at: number): Promise<void> {
    this.w.recordAlert.run(alert.budget, alert.period, alert.threshold, at);
  }
}

/** Opens (and, for writing, creates and migrates) the SQLite ledger at `path`. */
export function openSqliteLedger(path: string, options: OpenSqliteOptions = {}): SqliteLedger {
  const readonly = options.readonly ?? false;
  const db = openSqliteDatabase(path, options);
  return new SqliteLedger(path, db, readonly);
}
