// Which boot of the machine this is, and when a process started within it: together they tell an
// agent's own files apart from a previous boot's, which no pid or wall clock can.
import { readFileSync } from 'node:fs';
import { uptime } from 'node:os';

/** The kernel's boot_id on Linux (exact); elsewhere the boot time, rounded to absorb clock jitter. */
export function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    try {
      const btime = /^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
      if (btime) return `btime:${btime}`;
    } catch {
      // not Linux
    }
    return `boot:${Math.round((Date.now() / 1000 - uptime()) / 10)}`;
  }
}

/**
 * When process `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat), or undefined
 * when it cannot be known (no such process, or not Linux). A pid reused by another process has
 * another start time.
 */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
