// A --ledger PostgreSQL URL: recognised, checked and shown without secrets. Apart from the driver, so
// that telling the engines apart does not load pg (130-260 ms at every start of a SQLite-only command,
// the console's --once and its ledger thread included).
import { UsageError } from '../../cli/errors.js';

/** Is this --ledger value a PostgreSQL URL rather than a SQLite path? */
export const isPostgresUrl = (target: string): boolean => /^postgres(ql)?:\/\//i.test(target.trim());

/**
 * The URL as people may see it: user, host, port and database, nothing else (no password, no query
 * parameters, which may hold key files or passwords).
 */
export function postgresLedgerName(url: string): string {
  const u = new URL(url.trim());
  const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
  return `postgres://${user}${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

/** Checks a --ledger PostgreSQL URL; a password in it is refused (it would show in `ps` and logs). */
export function checkPostgresUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new UsageError(`--ledger: ${JSON.stringify(url.replace(/:[^@/]*@/, ':***@'))} is not a URL; give postgres://USER@HOST:PORT/DATABASE`);
  }
  if (u.password || u.searchParams.has('password')) {
    throw new UsageError(
      `--ledger: do not put the PostgreSQL password in the URL (${postgresLedgerName(url)}); set PGPASSWORD or PGPASSFILE (a ~/.pgpass-style file) instead`,
    );
  }
  if (!u.hostname) throw new UsageError(`--ledger: ${postgresLedgerName(url)} names no host; give postgres://USER@HOST:PORT/DATABASE`);
}
