// The SQLite engine: one file in WAL mode, so several workers on one host write it (one transaction at
// a time) while readers read a consistent snapshot without blocking them. better-sqlite3 is
// synchronous; the Ledger methods wrap it, and the worker's ledger thread calls applyBatchSync.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { MeterError } from '../../cli/errors.js';
import { nextMonth } from '../time-buckets.js';
import {
  StaleCloseError,
  type ApplyResult,
  type ClosedInvoiceRecord,
  type CloseFingerprint,
  type DlqCount,
  type HourlyUsageRow,
  type Ledger,
  type LedgerBatch,
  type LedgerCounts,
  type LedgerIdentity,
  type MachineHourUsage,
  type MachineSample,
  type MachineRow,
  type OffsetReset,
  type OffsetRow,
  type PruneState,
  type RawSample,
  type SentAlert,
  type TimeSpan,
  type StoredPriceVersion,
  type UsageFilter,
  type UsageRow,
} from '../ledger.js';
import { SqliteBatchApplier } from './apply.js';
import { SqliteHistory } from './history.js';
import { openSqliteDatabase, type OpenSqliteOptions } from './open.js';
import { prepareReads, prepareWrites, type ReadStatements, type WriteStatements } from './statements.js';
import { SqliteUsageReads } from './usage-reads.js';

/** The name people know a SQLite ledger by: its absolute path and the host it is on. */
export const sqliteLedgerName = (path: string): string => `${resolve(path)} on ${hostname()}`;

export class SqliteLedger implements Ledger {
  readonly engine = 'sqlite' as const;
  readonly identity: LedgerIdentity;
  private readonly r: ReadStatements;
  private readonly reads: SqliteUsageReads;
  private writes?: WriteStatements;
  private applier?: SqliteBatchApplier;

  constructor(
    readonly path: string,
    readonly db: Database.Database,
    readonly readonly: boolean,
  ) {
    this.r = prepareReads(db);
    this.reads = new SqliteUsageReads(db, this.r);
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

  /** applyBatch on the calling thread, synchronously (the worker's ledger thread). */
  applyBatchSync(batch: LedgerBatch): ApplyResult {
    this.applier ??= new SqliteBatchApplier(this.db, this.r, this.w);
    return this.applier.apply(batch);
  }

  async applyBatch(batch: LedgerBatch): Promise<ApplyResult> {
    return this.applyBatchSync(batch);
  }

  private countsSync(): LedgerCounts {
    const counts: LedgerCounts = { samples: 0, duplicates: 0, dlq: 0, lost: 0, skipped: 0 };
    for (const { name, value } of this.r.counters.all() as { name: keyof LedgerCounts; value: number }[]) {
      if (name in counts) counts[name] = value;
    }
    return counts;
  }

  async counts(): Promise<LedgerCounts> {
    return this.countsSync();
  }

  async dlqCounts(): Promise<DlqCount[]> {
    return (this.r.dlq.all() as { topic: string; reason: string; count: number; last_detail: string }[]).map((r) => ({
      topic: r.topic,
      reason: r.reason,
      count: r.count,
      lastDetail: r.last_detail,
    }));
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

  async usage(from: number, to: number, filter?: UsageFilter): Promise<UsageRow[]> {
    return this.reads.usage(from, to, filter);
  }

  async hourlyUsage(from: number, to: number, filter?: UsageFilter): Promise<HourlyUsageRow[]> {
    return this.reads.hourlyUsage(from, to, filter);
  }

  async adjustedPeriods(adjustedIn: number): Promise<number[]> {
    return (this.r.adjustedPeriods.all(adjustedIn) as { month_ms: number }[]).map((r) => r.month_ms);
  }

  async rawSamples(from: number, to: number, machines?: readonly string[]): Promise<RawSample[]> {
    return this.reads.rawSamples(from, to, machines);
  }

  async priceVersions(): Promise<StoredPriceVersion[]> {
    return this.priceVersionsSync();
  }

  private closedUntil(): number | null {
    const latest = (this.r.latestClosed.get() as { period_ms: number | null }).period_ms;
    return latest === null ? null : nextMonth(latest);
  }

  async addPriceVersion(
    version: Omit<StoredPriceVersion, 'addedAt'>,
    check: (stored: StoredPriceVersion[], closedUntil: number | null) => void,
    now = Date.now(),
  ): Promise<boolean> {
    const w = this.w;
    return this.db
      .transaction(() => {
        const existing = this.priceVersionsSync();
        if (existing.some((v) => v.digest === version.digest)) return false;
        check(existing, this.closedUntil());
        w.insertPriceVersion.run(version.effectiveFrom, version.digest, version.document, version.budgets, now);
        return true;
      })
      .immediate();
  }

  private priceVersionsSync(): StoredPriceVersion[] {
    type Row = { effective_ms: number; digest: string; document: string; budgets: string | null; added_ms: number };
    return (this.r.priceVersions.all() as Row[]).map((r) => ({ effectiveFrom: r.effective_ms, digest: r.digest, document: r.document, budgets: r.budgets, addedAt: r.added_ms }));
  }

  async closedInvoices(): Promise<ClosedInvoiceRecord[]> {
    type Row = { period: string; period_ms: number; number: number; closed_ms: number; digest: string; document: string };
    return (this.r.closedInvoices.all() as Row[]).map((r) => ({
      period: r.period,
      periodStart: r.period_ms,
      number: r.number,
      closedAt: r.closed_ms,
      digest: r.digest,
      document: r.document,
    }));
  }

  private fingerprintSync(periodStart: number): CloseFingerprint {
    return {
      samples: (this.r.ownSamplesOfMonth.get(periodStart, periodStart) as { n: number }).n,
      versions: (this.r.countVersions.get() as { n: number }).n,
      closed: (this.r.countClosed.get() as { n: number }).n,
      latestClosed: (this.r.latestClosed.get() as { period_ms: number | null }).period_ms,
    };
  }

  async closeFingerprint(periodStart: number): Promise<CloseFingerprint> {
    return this.db.transaction(() => this.fingerprintSync(periodStart))();
  }

  async closePeriod(record: ClosedInvoiceRecord, _periodEnd: number, expected: CloseFingerprint): Promise<void> {
    const w = this.w;
    // IMMEDIATE: no batch commits between the check and the insert (SQLite has one writer at a time).
    this.db
      .transaction(() => {
        const now = this.fingerprintSync(record.periodStart);
        if (JSON.stringify(now) !== JSON.stringify(expected)) throw new StaleCloseError('the ledger changed while the invoice was being closed');
        w.insertClosed.run(record.period, record.periodStart, record.number, record.closedAt, record.digest, record.document);
      })
      .immediate();
  }

  async pruneState(): Promise<PruneState> {
    return this.db.transaction(() => {
      const counts = this.countsSync();
      return {
        prunedBefore: Number((this.r.meta.get('pruned_before') as { value: string } | undefined)?.value ?? 0),
        latestTimestamp: (this.r.latestTimestamp.get() as { ts: number }).ts,
        rawSamples: counts.samples - this.counter('pruned'),
      };
    })();
  }

  private counter(name: string): number {
    return (this.r.counters.all() as { name: string; value: number }[]).find((c) => c.name === name)?.value ?? 0;
  }

  async prune(before: number, limit: number): Promise<number> {
    const w = this.w;
    return this.db
      .transaction(() => {
        const until = this.closedUntil();
        if (until === null || before > until) {
          throw new MeterError(`cannot prune raw samples before ${new Date(before).toISOString()}: their period is not closed`);
        }
        const current = Number((this.r.meta.get('pruned_before') as { value: string } | undefined)?.value ?? 0);
        // The horizon first, in the same transaction: a batch committing after this refuses samples before it.
        if (before > current) w.setMeta.run('pruned_before', String(before));
        const deleted = w.pruneBatch.run(before, limit).changes;
        if (deleted) w.addCounter.run('pruned', deleted);
        return deleted;
      })
      .immediate();
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
