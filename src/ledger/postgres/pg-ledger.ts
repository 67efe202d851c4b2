// The PostgreSQL engine: one database shared by every worker of a group on any number of hosts.
// Writes go through PgBatchApplier (one transaction per batch, the partition's offset row locked);
// reads that must agree with each other run in one REPEATABLE READ transaction.
import type pg from 'pg';
import { MeterError } from '../../cli/errors.js';
import {
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
import * as periods from './periods.js';
import { PgUsageReads } from './usage-reads.js';
import { CLOSE_LOCK, PgBatchApplier } from './apply.js';
import * as history from './history.js';
import { createPool, describePgError, migratePostgres, silentError, watchSilence } from './connect.js';
import { checkPostgresUrl, postgresLedgerName } from './url.js';


export interface OpenPostgresOptions {
  readonly?: boolean;
  /** Connections in the pool (readers may run queries side by side). */
  maxConnections?: number;
  applicationName?: string;
  /** Give a connection up for lost once the server has sent nothing this long while a call waits (the worker; see ANSWER_TIMEOUT_MS). */
  answerTimeoutMs?: number;
}

export class PgLedger implements Ledger {
  readonly engine = 'postgres' as const;
  private readonly applier = new PgBatchApplier();
  private readonly reads = new PgUsageReads();

  constructor(
    private readonly pool: pg.Pool,
    readonly identity: LedgerIdentity,
    readonly readonly: boolean,
    private readonly answerTimeoutMs?: number,
  ) {}

  private requireWritable(): void {
    if (this.readonly) throw new MeterError(`ledger ${this.identity.name} is open read-only`);
  }

  /** Runs `fn` on one connection, translating connection errors into one line. */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw describePgError(this.identity.name, error);
    }
    let broken: Error | undefined;
    // pg emits 'error' on a checked-out client whose connection dies (the server ended the session,
    // a reset after a network cut) besides failing its query: unheard, it would end the process.
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    const silence = this.answerTimeoutMs ? watchSilence(client, this.answerTimeoutMs) : undefined;
    try {
      return await fn(client);
    } catch (error) {
      if (silence?.fired()) throw (broken = silentError(this.identity.name, this.answerTimeoutMs!));
      // A connection that failed mid-way is not given back to the pool.
      if (!(error as { code?: string }).code || /^(08|57)/.test((error as { code?: string }).code ?? '')) broken = error as Error;
      throw error;
    } finally {
      silence?.end();
      client.off('error', onError);
      client.release(broken);
    }
  }

  private async inReadTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  private query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => client.query<R>(sql, params));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  async nextOffset(group: string, topic: string, partition: number): Promise<number | undefined> {
    const r = await this.query<{ next_offset: bigint }>('SELECT next_offset FROM offsets WHERE grp = $1 AND topic = $2 AND partition = $3', [
      group,
      topic,
      partition,
    ]);
    return r.rows.length ? Number(r.rows[0]!.next_offset) : undefined;
  }

  async offsets(): Promise<OffsetRow[]> {
    const r = await this.query<{ grp: string; topic: string; partition: number; next_offset: bigint }>(
      'SELECT grp, topic, partition, next_offset FROM offsets ORDER BY grp, topic, partition',
    );
    return r.rows.map((row) => ({ group: row.grp, topic: row.topic, partition: row.partition, nextOffset: Number(row.next_offset) }));
  }

  async claimPartition(group: string, topic: string, partition: number, startOffset: number, now = Date.now()): Promise<number> {
    this.requireWritable();
    return this.withClient(async (client) => {
      await client.query(
        'INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [group, topic, partition, startOffset, now],
      );
      const r = await client.query<{ next_offset: bigint }>('SELECT next_offset FROM offsets WHERE grp = $1 AND topic = $2 AND partition = $3', [
        group,
        topic,
        partition,
      ]);
      return Number(r.rows[0]!.next_offset);
    });
  }

  async resetOffset(reset: Omit<OffsetReset, 'skipped' | 'fromOffset'> & { skipped?: number }): Promise<OffsetReset> {
    this.requireWritable();
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const key = [reset.group, reset.topic, reset.partition];
        await client.query(
          'INSERT INTO offsets (grp, topic, partition, next_offset, updated_ms) VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING',
          [...key, reset.at],
        );
        const r = await client.query<{ next_offset: bigint }>(
          'SELECT next_offset FROM offsets WHERE grp = $1 AND topic = $2 AND partition = $3 FOR UPDATE',
          key,
        );
        const fromOffset = Number(r.rows[0]!.next_offset);
        const skipped = reset.skipped ?? Math.max(0, reset.toOffset - fromOffset);
        await client.query('UPDATE offsets SET next_offset = $4, updated_ms = $5, skipped = skipped + $6 WHERE grp = $1 AND topic = $2 AND partition = $3', [
          ...key,
          reset.toOffset,
          reset.at,
          skipped,
        ]);
        await client.query(
          `INSERT INTO offset_resets (grp, topic, partition, from_offset, to_offset, skipped, reason, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [...key, fromOffset, reset.toOffset, skipped, reset.reason, reset.at],
        );
        await client.query('COMMIT');
        return { ...reset, fromOffset, skipped };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  async offsetResets(): Promise<OffsetReset[]> {
    const r = await this.query<{
      grp: string;
      topic: string;
      partition: number;
      from_offset: bigint;
      to_offset: bigint;
      skipped: bigint;
      reason: string;
      at_ms: bigint;
    }>('SELECT grp, topic, partition, from_offset, to_offset, skipped, reason, at_ms FROM offset_resets ORDER BY id');
    return r.rows.map((row) => ({
      group: row.grp,
      topic: row.topic,
      partition: row.partition,
      fromOffset: Number(row.from_offset),
      toOffset: Number(row.to_offset),
      skipped: Number(row.skipped),
      reason: row.reason,
      at: Number(row.at_ms),
    }));
  }

  async applyBatch(batch: LedgerBatch): Promise<ApplyResult> {
    this.requireWritable();
    return this.withClient((client) => this.applier.apply(client, batch));
  }

  async counts(): Promise<LedgerCounts> {
    const r = await this.query<Record<keyof LedgerCounts, bigint | null>>(
      'SELECT SUM(samples) AS samples, SUM(duplicates) AS duplicates, SUM(dlq) AS dlq, SUM(lost) AS lost, SUM(skipped) AS skipped FROM offsets',
    );
    const row = r.rows[0]!;
    return {
      samples: Number(row.samples ?? 0n),
      duplicates: Number(row.duplicates ?? 0n),
      dlq: Number(row.dlq ?? 0n),
      lost: Number(row.lost ?? 0n),
      skipped: Number(row.skipped ?? 0n),
    };
  }

  async dlqCounts(): Promise<DlqCount[]> {
    const r = await this.query<{ topic: string; reason: string; count: bigint; last_detail: string }>(
      'SELECT topic, reason, count, last_detail FROM dlq_counts ORDER BY topic, reason',
    );
    return r.rows.map((row) => ({ topic: row.topic, reason: row.reason, count: Number(row.count), lastDetail: row.last_detail }));
  }

  async machines(): Promise<MachineRow[]> {
    const r = await this.query<{ machine: string; labels: string; first_seen_ms: bigint; last_seen_ms: bigint; samples: bigint }>(
      `SELECT m.machine, l.labels, m.first_seen_ms, m.last_seen_ms, m.samples
       FROM machines m JOIN label_sets l ON l.id = m.label_set ORDER BY m.machine COLLATE "C"`,
    );
    return r.rows.map((row) => ({
      machine: row.machine,
      labels: JSON.parse(row.labels) as Record<string, string>,
      firstSeen: Number(row.first_seen_ms),
      lastSeen: Number(row.last_seen_ms),
      samples: Number(row.samples),
    }));
  }

  async usage(from: number, to: number, filter?: UsageFilter): Promise<UsageRow[]> {
    return this.inReadTransaction((client) => this.reads.usage(client, from, to, filter));
  }

  async hourlyUsage(from: number, to: number, filter?: UsageFilter): Promise<HourlyUsageRow[]> {
    return this.withClient((client) => this.reads.hourlyUsage(client, from, to, filter));
  }

  async adjustedPeriods(adjustedIn: number): Promise<number[]> {
    const r = await this.query<{ month_ms: bigint }>('SELECT DISTINCT month_ms FROM usage_monthly WHERE adjusted_in = $1 ORDER BY month_ms', [adjustedIn]);
    return r.rows.map((row) => Number(row.month_ms));
  }

  async rawSamples(from: number, to: number, machines?: readonly string[]): Promise<RawSample[]> {
    return this.withClient((client) => this.reads.rawSamples(client, from, to, machines));
  }

  async priceVersions(): Promise<StoredPriceVersion[]> {
    return this.withClient((client) => periods.priceVersions(client));
  }

  /** Runs `fn` in a transaction holding the close lock alone: no batch is in flight, none starts. */
  private inCloseLock<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.requireWritable();
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query('SELECT pg_advisory_xact_lock($1)', [CLOSE_LOCK]);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }

  async addPriceVersion(
    version: Omit<StoredPriceVersion, 'addedAt'>,
    check: (stored: StoredPriceVersion[], closedUntil: number | null) => void,
    now = Date.now(),
  ): Promise<boolean> {
    return this.inCloseLock((client) => periods.addPriceVersion(client, version, check, now));
  }

  async closedInvoices(): Promise<ClosedInvoiceRecord[]> {
    return this.withClient((client) => periods.closedInvoices(client));
  }

  async closeFingerprint(periodStart: number): Promise<CloseFingerprint> {
    return this.inReadTransaction((client) => periods.closeFingerprint(client, periodStart));
  }

  async closePeriod(record: ClosedInvoiceRecord, _periodEnd: number, expected: CloseFingerprint): Promise<void> {
    await this.inCloseLock((client) => periods.closePeriod(client, record, expected));
  }

  async pruneState(): Promise<PruneState> {
    return this.inReadTransaction((client) => periods.pruneState(client));
  }

  async prune(before: number, limit: number): Promise<number> {
    // Under the close lock in exclusive mode: no batch is between reading the horizon and committing.
    return this.inCloseLock((client) => periods.prune(client, before, limit));
  }

  machineSamples(machine: string, from: number, to: number): Promise<MachineSample[]> {
    return this.withClient((client) => history.machineSamples(client, machine, from, to));
  }

  recentSamples(machines: readonly string[], since: number, points: number): Promise<Map<string, MachineSample[]>> {
    return this.withClient((client) => history.recentSamples(client, machines, since, points));
  }

  machineHourlyUsage(machine: string, from: number, to: number): Promise<MachineHourUsage[]> {
    return this.withClient((client) => history.machineHourlyUsage(client, machine, from, to));
  }

  machineCoverage(machine: string, from: number, to: number): Promise<TimeSpan[]> {
    return this.inReadTransaction((client) => history.machineCoverage(client, machine, from, to));
  }

  async alertWasSent(alert: SentAlert): Promise<boolean> {
    const r = await this.query('SELECT 1 FROM budget_alerts WHERE budget = $1 AND period = $2 AND threshold = $3', [
      alert.budget,
      alert.period,
      alert.threshold,
    ]);
    return r.rows.length > 0;
  }

  async recordAlertSent(alert: SentAlert, at: number): Promise<void> {
    this.requireWritable();
    await this.query('INSERT INTO budget_alerts (budget, period, threshold, sent_ms) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      alert.budget,
      alert.period,
      alert.threshold,
      at,
    ]);
  }
}

/** Connects to (and, for writing, migrates) the PostgreSQL ledger at `url`; errors are one line. */
export async function openPostgresLedger(url: string, options: OpenPostgresOptions = {}): Promise<PgLedger> {
  checkPostgresUrl(url);
  const name = postgresLedgerName(url);
  const readonly = options.readonly ?? false;
  const pool = createPool(url, { max: options.maxConnections, applicationName: options.applicationName });
  try {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw describePgError(name, error);
    }
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      await migratePostgres(client, name, readonly);
      const r = await client.query<{ value: string }>(`SELECT value FROM ledger_meta WHERE key = 'id'`);
      return new PgLedger(pool, { id: r.rows[0]!.value, name }, readonly, options.answerTimeoutMs);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  } catch (error) {
    await pool.end().catch(() => {});
    if (error instanceof MeterError) throw error;
    throw describePgError(name, error);
  }
}
