// One agent per spool directory: two appending to one spool would interleave its segments. The lock
// file names the holder by boot, pid and the pid's start time, so a stale lock is recognised exactly:
// after a reboot (another boot_id) or when the pid now belongs to an unrelated process (another start
// time), it is taken over; a lock is refused only while its own holder still runs.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MeterError } from '../cli/errors.js';
import { processAlive } from '../kafka/file-lock.js';
import { processStartTicks, readBootId } from './boot.js';

export interface LockHolder {
  pid: number;
  boot: string;
  /** Undefined where start times cannot be read (not Linux): then a live pid is trusted. */
  started: string | undefined;
}

export const LOCK_FILE = 'agent.lock';

export function currentHolder(): LockHolder {
  return { pid: process.pid, boot: readBootId(), started: processStartTicks(process.pid) };
}

/** Whether the holder named in a lock file still runs. */
export function holderRuns(holder: LockHolder, now: LockHolder = currentHolder()): boolean {
  if (holder.boot !== now.boot) return false;
  if (!processAlive(holder.pid)) return false;
  if (holder.started === undefined) return true;
  return processStartTicks(holder.pid) === holder.started;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (!Number.isInteger(h.pid) || typeof h.boot !== 'string') return undefined;
    return { pid: h.pid!, boot: h.boot, started: typeof h.started === 'string' ? h.started : undefined };
  } catch {
    return undefined; // missing, or damaged: nobody can be proven to hold it
  }
}

export class SpoolLock {
  private constructor(private readonly path: string) {}

  static acquire(dir: string): SpoolLock {
    const path = join(dir, LOCK_FILE);
    const me = currentHolder();
    // Created exclusively, so two agents starting at once cannot both take it.
    for (let attempt = 0; ; attempt++) {
      try {
        writeFileSync(path, JSON.stringify(me), { flag: 'wx' });
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      }
      const holder = readHolder(path);
      if (holder && holder.pid !== me.pid && holderRuns(holder, me)) {
        throw new MeterError(`spool ${dir} is in use by another agent (pid ${holder.pid}); stop it or pass a different --spool`);
      }
      rmSync(path, { force: true }); // stale: its holder is gone
    }
    // The lock of agents before this one: a bare pid, which cannot tell a reused pid apart.
    rmSync(join(dir, 'agent.pid'), { force: true });
    return new SpoolLock(path);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
