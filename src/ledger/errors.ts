// Why a ledger cannot be used, as classes: readers (the console, invoice, budgets) tell a ledger that
// is not there yet from one that is busy or broken by the error's class, never by its wording. Each
// is a MeterError, so a command prints its message as one line (exit 1). Both engines raise them
// from their open paths; ledgerErrorOf() classifies what an engine's driver throws while reading.
import { MeterError } from '../cli/errors.js';

/** A ledger that cannot be used; `ledger` is its name (path and host, or URL without secrets). */
export class LedgerUnavailableError extends MeterError {
  constructor(
    readonly ledger: string,
    message: string,
  ) {
    super(message);
  }
}

/** No ledger there (yet): the SQLite file or the PostgreSQL database does not exist. */
export class LedgerNotFoundError extends LedgerUnavailableError {
  override readonly name = 'LedgerNotFoundError';
}

/** Something is there, but not a meter ledger: not a SQLite file, a directory, a database with no schema. */
export class NotALedgerError extends LedgerUnavailableError {
  override readonly name = 'NotALedgerError';
}

/** Another process holds a lock the read or open needed (SQLite busy or locked; a PostgreSQL lock timeout). */
export class LedgerLockedError extends LedgerUnavailableError {
  override readonly name = 'LedgerLockedError';
}

/** The ledger's schema is newer than this meter knows: upgrade meter. */
export class LedgerSchemaNewerError extends LedgerUnavailableError {
  override readonly name = 'LedgerSchemaNewerError';
  constructor(
    ledger: string,
    readonly version: number,
    readonly known: number,
  ) {
    super(ledger, `ledger ${ledger} has schema v${version}, newer than this meter (v${known}); upgrade meter`);
  }
}

/** The ledger's schema is older than this meter's, and a reader does not migrate: run the worker once. */
export class LedgerSchemaOlderError extends LedgerUnavailableError {
  override readonly name = 'LedgerSchemaOlderError';
  constructor(
    ledger: string,
    readonly version: number,
    readonly known: number,
  ) {
    super(ledger, `ledger ${ledger} has schema v${version}; run \`meter worker\` once to migrate it to v${known}`);
  }
}

/** The ledger's server cannot be reached (PostgreSQL down, a wrong host or port). */
export class LedgerUnreachableError extends LedgerUnavailableError {
  override readonly name = 'LedgerUnreachableError';
}

const SQLITE_BUSY = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED_SHAREDCACHE']);
// PostgreSQL: lock_not_available (lock_timeout), deadlock_detected.
const PG_LOCKED = new Set(['55P03', '40P01']);

/** Is this a driver's "busy / locked" error (SQLite or PostgreSQL)? */
export function isLockError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (SQLITE_BUSY.has(code) || PG_LOCKED.has(code));
}

/**
 * What a ledger read threw, as a typed ledger error where there is one (a lock becomes
 * LedgerLockedError); anything else is returned as it is.
 */
export function ledgerErrorOf(error: unknown, ledger: string): unknown {
  if (error instanceof LedgerUnavailableError) return error;
  if (isLockError(error)) return new LedgerLockedError(ledger, `ledger ${ledger} is locked by another process`);
  return error;
}
