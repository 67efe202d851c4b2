// The PostgreSQL engine: one database shared by every worker of a group on any number of hosts.
// Writes go through PgBatchApplier (one transaction per batch, the partition's offset row locked);
// reads that must agree with each other run in one REPEATABLE READ transaction.
import type pg from 'pg';
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
import { PgBatchApplier } from './apply.js';
import * as history from './history.js';
import { checkPostgresUrl, createPool, describePgError, migratePostgres, postgresLedgerName } from './connect.js';

const USAGE_SUMS = 'SUM(samples) AS samples, SUM(cpu_busy_us) AS cpu, SUM(mem_gib_ms) AS gib, SUM(mem_rem_byte_ms) AS rem';
type Summed = { machine: string; label_set: bigint; samples: bigint; cpu: bigint; gib: bigint; rem: bigint };

export interface OpenPostgresOptions {
  readonly?: boolean;
  /** Connections in the pool (readers may run queries side by side). */
  maxConnections?: number;
  applicationName?: string;
}

export class PgLedger implements Ledger {
  readonly engine = 'postgres' as const;
  private readonly applier = new PgBatchApplier();
  private readonly labelsById = new Map<number, Record<string, string>>();

  constructor(
    private readonly pool: pg.Pool,
    readonly identity: LedgerIdentity,
    readonly readonly: boolean,
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
    try {
      return await fn(client);
    } catch (error) {
      // A connection that failed mid-way is not given back to the pool.
      if (!(error as { code?: string }).code || /^(08|57)/.test((error as { code?: string }).code ?? '')) broken = error as Error;
      throw error;
    } finally {
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

  async registerRateCard(card: RateCardRef, now = Date.now()): Promise<number> {
    this.requireWritable();
    return this.withClient(async (client) => {
      await client.query('INSERT INTO rate_cards (digest, currency, source, first_used_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING', [
        card.digest,
        card.currency,
        card.source,
        now,
      ]);
      const r = await client.query<{ id: bigint }>('SELECT id FROM rate_cards WHERE digest = $1', [card.digest]);
      return Number(r.rows[0]!.id);
    });
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

  async usage(from: number, to: number): Promise<UsageRow[]> {
    const parts = splitRange(from, to);
    const sums = new UsageSums();
    await this.inReadTransaction(async (client) => {
      for (const [table, at, ranges] of [
        ['usage_monthly', 'month_ms', parts.months],
        ['usage_hourly', 'hour_ms', parts.hours],
      ] as const) {
        for (const [a, b] of ranges) {
          const r = await client.query<Summed>(
            `SELECT machine, label_set, ${USAGE_SUMS} FROM ${table} WHERE ${at} >= $1 AND ${at} < $2 GROUP BY machine, label_set`,
            [a, b],
          );
          for (const row of r.rows) sums.add(row.machine, Number(row.label_set), Number(row.samples), row.cpu, (row.gib << 30n) + row.rem);
        }
      }
      for (const [a, b] of parts.raw) {
        const r = await client.query<{ machine: string; label_set: bigint; samples: bigint; cpu: bigint; mem: bigint }>(
          `SELECT machine, label_set, COUNT(*)::bigint AS samples, SUM(cpu_busy_us) AS cpu,
                  SUM(mem_used_bytes::numeric * (end_ms - start_ms)) AS mem
           FROM samples WHERE start_ms >= $1 AND start_ms < $2 GROUP BY machine, label_set`,
          [a, b],
        );
        for (const row of r.rows) sums.add(row.machine, Number(row.label_set), Number(row.samples), row.cpu, row.mem);
      }
      const missing = [...new Set(sums.list().map((s) => s.labelSet))].filter((id) => !this.labelsById.has(id));
      if (missing.length) {
        const r = await client.query<{ id: bigint; labels: string }>('SELECT id, labels FROM label_sets WHERE id = ANY($1::bigint[])', [missing]);
        for (const row of r.rows) this.labelsById.set(Number(row.id), JSON.parse(row.labels) as Record<string, string>);
      }
    });
    return sums.list().map((row) => ({ ...row, labels: this.labelsById.get(row.labelSet) ?? {} }));
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
      return new PgLedger(pool, { id: r.rows[0]!.value, name }, readonly);
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
