// --ledger, shared by every command that reads or writes the ledger: a SQLite file (the default,
// METER_HOME/ledger.db) or a PostgreSQL URL. Also METER_LEDGER and `ledger:` in the config file.
// PostgreSQL's password never goes in it (`ps` shows flags): PGPASSWORD or a PGPASSFILE, as for psql.
import type { Options } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { defaultLedgerPath } from './paths.js';

export function ledgerFlag(what: string): Options {
  return {
    type: 'string',
    describe: `${what}: a SQLite file, or postgres://USER@HOST:PORT/DATABASE (password from PGPASSWORD or PGPASSFILE, never here)`,
    defaultDescription: 'METER_HOME/ledger.db',
  };
}

/** The --ledger value, or the default SQLite file in meter's home. A config file can give anything: a non-string is a usage error. */
export function ledgerValue(value: unknown, home: string): string {
  if (value !== undefined && typeof value !== 'string') {
    throw new UsageError(`--ledger: ${JSON.stringify(value)} is not a SQLite file path or a postgres://USER@HOST:PORT/DATABASE URL`);
  }
  return value?.trim() ? value.trim() : defaultLedgerPath(home);
}
