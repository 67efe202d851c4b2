// A lock file shared by processes: two `meter kafka start` (or a test runner and a test file) may race
// to fetch the jars or start the same broker, and only one of them may do it.
import { mkdirSync, openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MeterError } from '../cli/errors.js';

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryAcquire(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A lock whose holder died is stale: take it over.
    let holder = NaN;
    try {
      holder = Number(readFileSync(path, 'utf8').trim());
    } catch {
      return false;
    }
    if (!processAlive(holder)) {
      rmSync(path, { force: true });
    }
    return false;
  }
}

/** Runs fn while holding the lock file at path; waits (polling) while another live process holds it. */
export async function withFileLock<T>(path: string, what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  while (!tryAcquire(path)) {
    if (Date.now() > deadline) {
      throw new MeterError(`${what}: another meter process holds ${path}; wait for it, or remove the file if no meter is running`);
    }
    await sleep(200);
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { force: true });
  }
}
