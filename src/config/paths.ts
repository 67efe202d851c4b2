// Where meter keeps its files. Everything lives outside the repository: the broker's jars and data,
// the agent's spool, the default ledger.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** METER_HOME, else $XDG_DATA_HOME/meter, else ~/.local/share/meter. */
export function meterHome(): string {
  if (process.env.METER_HOME) return process.env.METER_HOME;
  const xdg = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(xdg, 'meter');
}

/** Downloaded artifacts (the broker's jars): METER_CACHE, else $XDG_CACHE_HOME/meter, else ~/.cache/meter. */
export function meterCache(): string {
  if (process.env.METER_CACHE) return process.env.METER_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'meter');
}

export const defaultLedgerPath = (): string => join(meterHome(), 'ledger.db');
export const defaultSpoolDir = (): string => join(meterHome(), 'spool');

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
