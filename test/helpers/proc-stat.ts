// The host's busy CPU time read straight from /proc/stat, independently of the agent's code, for
// tests that check what the agent metered against the kernel.
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';

/** Cumulative busy seconds (user + nice + system + irq + softirq) since boot. */
export function procBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) / 100;
}

/** Reads /proc/stat every `everyMs` until stop(); busyAt(t) interpolates between the readings. */
export function recordProcBusy(everyMs: number): { stop(): void; busyAt(t: number): number } {
  const readings = [{ t: Date.now(), busy: procBusySeconds() }];
  const timer = setInterval(() => readings.push({ t: Date.now(), busy: procBusySeconds() }), everyMs);
  return {
    stop: () => clearInterval(timer),
    busyAt: (t) => {
      const i = readings.findIndex((r) => r.t >= t);
      assert.ok(i > 0, 'the readings cover the moment');
      const a = readings[i - 1]!;
      const b = readings[i]!;
      return a.busy + ((b.busy - a.busy) * (t - a.t)) / Math.max(1, b.t - a.t);
    },
  };
}
