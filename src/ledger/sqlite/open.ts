// Opening a SQLite ledger: created and migrated for writing (one IMMEDIATE transaction, so workers that
// open a new ledger at once apply each migration once), checked for reading. Errors are one line.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MeterError, errorMessage } from '../../cli/errors.js';
import { LedgerLockedError, LedgerNotFoundError, LedgerUnavailableError, LedgerSchemaNewerError, LedgerSchemaOlderError, NotALedgerError, isLockError } from '../errors.js';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS } from './schema.js';

export interface OpenSqliteOptions {
  /** Open for reading only (the console, `meter invoice`): never creates, never migrates. */
  readonly?: boolean;
  /** How long a write waits for another writer's transaction, in ms. */
  busyTimeoutMs?: number;
}

function notALedger(path: string, why: string): MeterError {
  return new NotALedgerError(path, `ledger ${path} ${why}`);
}

const newerThanUs = (path: string, version: number) => new LedgerSchemaNewerError(path, version, LEDGER_SCHEMA_VERSION);

function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > LEDGER_SCHEMA_VERSION) throw newerThanUs(path, version);
    for (const migration of MIGRATIONS) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      migration.upgrade?.(db);
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
}

/** Opens the SQLite database at `path` as a ledger (creating and migrating it unless read-only). */
export function openSqliteDatabase(path: string, options: OpenSqliteOptions = {}): Database.Database {
  const readonly = options.readonly ?? false;
  if (readonly && !existsSync(path)) {
    throw new LedgerNotFoundError(path, `ledger ${path} not found; run \`meter worker\` first or pass --ledger`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw notALedger(path, 'is a directory; pass --ledger with a file path');
  }
  let db: Database.Database;
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (error) {
    throw new LedgerUnavailableError(path, `ledger ${path} cannot be opened: ${errorMessage(error)}`);
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    if (readonly) {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version === 0) throw notALedger(path, 'is not a meter ledger (no schema); run `meter worker` to create one');
      if (version > LEDGER_SCHEMA_VERSION) throw newerThanUs(path, version);
      if (version < LEDGER_SCHEMA_VERSION) throw new LedgerSchemaOlderError(path, version, LEDGER_SCHEMA_VERSION);
    } else {
      db.pragma('journal_mode = WAL');
      // NORMAL: in WAL mode a commit survives a crash of the process (kill -9) but may be lost with
      // power; that loses nothing, because the worker resumes from the ledger's own offsets and
      // reads those messages again from Kafka.
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -65536');
      migrate(db, path);
    }
    return db;
  } catch (error) {
    db.close();
    if (error instanceof MeterError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw notALedger(path, 'is not a meter ledger (not a SQLite database)');
    if (isLockError(error)) throw new LedgerLockedError(path, `ledger ${path} is locked by another process: ${errorMessage(error)}`);
    throw new LedgerUnavailableError(path, `ledger ${path} cannot be used: ${errorMessage(error)}`);
  }
}
