// Where meter keeps its files. Everything lives outside the repository: the broker's jars and data,
// the agent's spool, the default ledger. The environment is a parameter: the CLI resolves it once
// (src/config/resolve.ts) and passes the result down; the process.env default serves library callers
// (the test helpers' private brokers) that have no resolved configuration.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** METER_HOME, else $XDG_DATA_HOME/meter, else ~/.local/share/meter. */
export function meterHome(env: Env = process.env): string {
  if (env.METER_HOME) return env.METER_HOME;
  const xdg = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(xdg, 'meter');
}

/** Downloaded artifacts (the broker's jars): METER_CACHE, else $XDG_CACHE_HOME/meter, else ~/.cache/meter. */
export function meterCache(env: Env = process.env): string {
  if (env.METER_CACHE) return env.METER_CACHE;
  const xdg = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'meter');
}

export const defaultLedgerPath = (home: string): string => join(home, 'ledger.db');
export const defaultSpoolDir = (home: string): string => join(home, 'spool');

/**
 * Writes a file only its owner may read (it holds money or secrets), also when it existed before
 * with a wider mode.
 */
export function writePrivateFile(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Creates a directory (and its parents) only its owner may enter. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}
