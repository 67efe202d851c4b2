// Reads the host's cumulative CPU counters and memory. On Linux we read /proc directly: it is a few
// microseconds, where systeminformation's currentLoad() starts a shell on every call. Elsewhere we
// fall back to systeminformation, loaded lazily so the Linux agent never pays for it.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { readBootId } from './boot.js';

export interface CpuCounters {
  /** Cumulative busy time across all cores since boot, in seconds (user+nice+system+irq+softirq). */
  busySeconds: number;
  cores: number;
}

export interface MemoryReading {
  totalBytes: number;
  /** MemTotal - MemAvailable: reclaimable page cache is not the machine's use. */
  usedBytes: number;
}

export interface HostCounters {
  cpu(): Promise<CpuCounters>;
  memory(): Promise<MemoryReading>;
  /** Changes on reboot; counters from another boot cannot be subtracted. */
  bootId(): string;
}

function clockTicksPerSecond(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isFinite(value) && value > 0) return value;
  } catch {
    // getconf missing: every mainstream Linux uses 100.
  }
  return 100;
}

/** Parses /proc/stat: the aggregate "cpu" line and the number of per-core lines. */
export function parseProcStat(text: string, ticksPerSecond: number): CpuCounters {
  let busyTicks = 0;
  let cores = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user/nice.
      const f = line.trim().split(/\s+/).slice(1).map(Number);
      busyTicks = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0);
    } else if (/^cpu\d+ /.test(line)) {
      cores++;
    }
  }
  if (cores === 0) throw new Error('/proc/stat has no per-CPU lines');
  return { busySeconds: busyTicks / ticksPerSecond, cores };
}

/** Parses /proc/meminfo (values in kB). */
export function parseMeminfo(text: string): MemoryReading {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = field('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  // Kernels before 3.14 lack MemAvailable; free + buffers + cached is the classic approximation.
  const available = field('MemAvailable') ?? (field('MemFree') ?? 0) + (field('Buffers') ?? 0) + (field('Cached') ?? 0);
  return { totalBytes: total, usedBytes: Math.max(0, Math.min(total, total - available)) };
}

export function linuxHostCounters(): HostCounters {
  const ticks = clockTicksPerSecond();
  const bootId = readBootId();
  return {
    cpu: async () => parseProcStat(readFileSync('/proc/stat', 'utf8'), ticks),
    memory: async () => parseMeminfo(readFileSync('/proc/meminfo', 'utf8')),
    bootId: () => bootId,
  };
}

/** Portable fallback for macOS and others, through systeminformation. */
export async function portableHostCounters(): Promise<HostCounters> {
  const si = await import('systeminformation');
  const os = await import('node:os');
  return {
    cpu: async () => {
      const cpus = os.cpus();
      // os.cpus() times are cumulative ms per core; busy = user + nice + sys + irq.
      const busyMs = cpus.reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
      return { busySeconds: busyMs / 1000, cores: cpus.length };
    },
    memory: async () => {
      const m = await si.mem();
      // systeminformation's `active` is total - available; its `used` counts page cache.
      return { totalBytes: m.total, usedBytes: m.active };
    },
    bootId: readBootId,
  };
}

export async function hostCounters(): Promise<HostCounters> {
  return process.platform === 'linux' ? linuxHostCounters() : portableHostCounters();
}
