// Durations on the command line: 7d, 36h, 90m, 45s (or a bare number of seconds).
import { UsageError } from '../cli/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(flag: string, value: string | number, { maxMs = Infinity } = {}): number {
  const text = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text);
  const ms = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : NaN;
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new UsageError(`--${flag}: ${JSON.stringify(value)} is not a duration; give e.g. 7d, 36h or 90m`);
  }
  if (ms > maxMs) throw new UsageError(`--${flag}: ${text} is too long; at most ${maxMs / UNITS.d!}d`);
  return Math.round(ms);
}
