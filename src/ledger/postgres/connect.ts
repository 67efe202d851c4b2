// Connecting to a PostgreSQL ledger: the URL (never with a password: that goes in PGPASSWORD or a
// PGPASSFILE, as for psql, so `ps` never shows it), a pool whose BIGINT and NUMERIC values come back
// as exact BigInts, the schema migrated on open, and one-line errors that say what to do.
import pg from 'pg';
import { MeterError, errorMessage } from '../../cli/errors.js';
import { LedgerLockedError, LedgerNotFoundError, LedgerSchemaNewerError, LedgerSchemaOlderError, LedgerUnreachableError, NotALedgerError, isLockError } from '../errors.js';
import { MIGRATION_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION } from './schema.js';
import { postgresLedgerName } from './url.js';

// BIGINT (int8) and NUMERIC (sums of BIGINT) as BigInt: exact, never through a float.
const INT8 = 20;
const NUMERIC = 1700;
const exactTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

export const IDLE_IN_TRANSACTION_MS = 10_000;
export const LOCK_TIMEOUT_MS = 30_000;
/** How long data sent to a worker may stay unacknowledged before the server drops the connection. */
export const TCP_USER_TIMEOUT_MS = 10_000;
/** The longest a statement of a batch transaction may run (see apply.ts). */
export const BATCH_STATEMENT_TIMEOUT_MS = 15_000;

/**
 * Watches a checked-out client while a call runs on it: once the server has sent nothing for `ms`,
 * the socket is destroyed, which fails the call at once (silentError() says why, as one line).
 * Monotonic time, so a clock step does not drop a live connection. Returns the end of the watch, and
 * whether it fired.
 */
export function watchSilence(client: pg.PoolClient, ms: number): { end: () => void; fired: () => boolean } {
  const stream = (client as unknown as { connection?: { stream?: import('node:net').Socket } }).connection?.stream;
  if (!stream) return { end: () => {}, fired: () => false };
  let heard = performance.now();
  let fired = false;
  const onData = () => (heard = performance.now());
  stream.on('data', onData);
  const timer = setInterval(() => {
    if (performance.now() - heard < ms) return;
    fired = true;
    clearInterval(timer);
    stream.destroy();
  }, Math.max(50, Math.min(1000, ms / 4)));
  timer.unref();
  return {
    end: () => {
      clearInterval(timer);
      stream.off('data', onData);
    },
    fired: () => fired,
  };
}

/** The error of a call whose connection watchSilence() gave up for lost: the server is out of reach. */
export function silentError(name: string, ms: number): LedgerUnreachableError {
  return new LedgerUnreachableError(name, `ledger ${name} sent nothing for ${ms / 1000} s: its connection is taken for lost (a network cut?) and dropped; the next try opens a new one`);
}

export function createPool(url: string, options: { max?: number; applicationName?: string; connectTimeoutMs?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url.trim(),
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'meter',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    types: exactTypes,
    // A worker cut off the network mid-transaction keeps its partition's offset row locked for as
    // long as its TCP connection lives (minutes, hours). The server ends such a session once it has
    // waited this long for its client, so the partition's new owner goes on; a live worker's
    // transaction never idles that long.
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    // And the new owner waits this long for a lock at most, then retries the batch.
    lock_timeout: LOCK_TIMEOUT_MS,
    // Neither timeout reaches a session blocked writing to a client that is cut off (a server sending
    // a batch's results cannot be cancelled until TCP gives up, minutes later), nor one waiting for a
    // peer that vanished: the server closes the connection once sent data stays unacknowledged for
    // 10 s or a silent peer misses its keepalives, so the session ends and its locks go with it.
    options: `-c tcp_user_timeout=${TCP_USER_TIMEOUT_MS} -c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3`,
  });
  // A dropped idle connection is replaced on the next query; it must not crash the process.
  pool.on('error', () => {});
  return pool;
}

/** A PostgreSQL error as one line that says what to do. */
export function describePgError(name: string, error: unknown): MeterError {
  const code = (error as { code?: string }).code;
  const text = errorMessage(error).split('\n')[0]!;
  if (code === '28P01' || code === '28000' || /password/i.test(text)) {
    return new MeterError(`ledger ${name}: ${text}; set the password in PGPASSWORD or PGPASSFILE (never in --ledger)`);
  }
  if (code === '3D000') return new LedgerNotFoundError(name, `ledger ${name}: ${text}; create it (createdb) or pass another --ledger`);
  if (isLockError(error)) return new LedgerLockedError(name, `ledger ${name} is locked by another session: ${text}`);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || /timeout|connect/i.test(text)) {
    return new LedgerUnreachableError(name, `ledger ${name} cannot be reached (${text}); start PostgreSQL or check --ledger`);
  }
  return new MeterError(`ledger ${name}: ${text}`);
}

/** Applies missing migrations under an advisory lock; read-only opens only check the version. */
export async function migratePostgres(client: pg.PoolClient, name: string, readonly: boolean): Promise<void> {
  const version = async (): Promise<number> => {
    const exists = await client.query(`SELECT to_regclass('ledger_meta') IS NOT NULL AS ok`);
    if (!exists.rows[0].ok) return 0;
    const r = await client.query(`SELECT value FROM ledger_meta WHERE key = 'schema_version'`);
    return r.rows.length ? Number(r.rows[0].value) : 0;
  };
  if (readonly) {
    const v = await version();
    if (v === 0) throw new NotALedgerError(name, `ledger ${name} is not a meter ledger (no schema); run \`meter worker --ledger ${name}\` to create one`);
    if (v > PG_SCHEMA_VERSION) throw new LedgerSchemaNewerError(name, v, PG_SCHEMA_VERSION);
    if (v < PG_SCHEMA_VERSION) throw new LedgerSchemaOlderError(name, v, PG_SCHEMA_VERSION);
    return;
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const v = await version();
    if (v > PG_SCHEMA_VERSION) throw new LedgerSchemaNewerError(name, v, PG_SCHEMA_VERSION);
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= v) continue;
      await client.query(migration.sql);
      await migration.upgrade?.(client);
      await client.query(
        `INSERT INTO ledger_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [String(migration.version)],
      );
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
