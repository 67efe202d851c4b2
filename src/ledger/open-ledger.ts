// Which engine a --ledger value names, and opening it: a postgres:// URL is PostgreSQL, anything else
// a SQLite file path.
import { UsageError } from '../cli/errors.js';
import type { Ledger, LedgerEngine } from './ledger.js';
import { checkPostgresUrl, isPostgresUrl, postgresLedgerName } from './postgres/url.js';
import { sqliteLedgerName } from './sqlite/sqlite-ledger.js';

export interface LedgerTarget {
  engine: LedgerEngine;
  /** The SQLite path, or the PostgreSQL URL (without a password: those are refused). */
  location: string;
  /** What to show people: the path and host, or the URL without secrets. */
  name: string;
}

export interface OpenLedgerOptions {
  /** Open for reading only (the console, `meter invoice`): never creates, never migrates. */
  readonly?: boolean;
  /** SQLite: how long a write waits for another writer's transaction, in ms. */
  busyTimeoutMs?: number;
  /** PostgreSQL: connections in the pool. */
  maxConnections?: number;
  /** PostgreSQL: application_name, seen in pg_stat_activity. */
  applicationName?: string;
  /** PostgreSQL: drop a connection the server has sent nothing on for this long while a call waits. */
  answerTimeoutMs?: number;
}

/** Parses a --ledger value (a SQLite path or a postgres:// URL); a usage error for a bad one. */
export function ledgerTarget(value: string): LedgerTarget {
  const location = value.trim();
  if (!location) throw new UsageError('--ledger: give a SQLite file path or a postgres://USER@HOST:PORT/DATABASE URL');
  if (isPostgresUrl(location)) {
    checkPostgresUrl(location);
    return { engine: 'postgres', location, name: postgresLedgerName(location) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new UsageError(`--ledger: ${location.split('://')[0]}:// ledgers are not supported; give a SQLite file path or a postgres:// URL`);
  }
  return { engine: 'sqlite', location, name: sqliteLedgerName(location) };
}

/** Opens (and, for writing, creates and migrates) the ledger a --ledger value names. */
export async function openLedger(value: string | LedgerTarget, options: OpenLedgerOptions = {}): Promise<Ledger> {
  const target = typeof value === 'string' ? ledgerTarget(value) : value;
  if (target.engine === 'postgres') {
    const { openPostgresLedger } = await import('./postgres/pg-ledger.js');
    return openPostgresLedger(target.location, options);
  }
  const { openSqliteLedger } = await import('./sqlite/sqlite-ledger.js');
  return openSqliteLedger(target.location, options);
}
