// Metrics whose values live in the running program and are read when scraped: every mode keeps plain
// counters of its own (so a process without --metrics never loads prom-client), and these turn them
// into Prometheus counters and gauges at collect time.
import { Counter, Gauge, type Registry } from 'prom-client';

/** A counter whose running total lives elsewhere: each scrape adds what it grew by since the last. */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

/**
 * mirroredCounter with one label: read() gives the running total per label value (a DLQ reason, say).
 * A value seen once stays in the output, as a counter must.
 */
export function mirroredLabelledCounter(registry: Registry, name: string, help: string, label: string, read: () => ReadonlyMap<string, number>): void {
  const seen = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, now] of read()) {
        const before = seen.get(value) ?? 0;
        if (now > before) this.inc({ [label]: value }, now - before);
        seen.set(value, Math.max(before, now));
      }
    },
  });
}

export function readGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A gauge per label value, read afresh at each scrape: values no longer given (a partition moved away) disappear. */
export function readLabelledGauge(registry: Registry, name: string, help: string, label: string, read: () => Iterable<[string, number]>): void {
  new Gauge({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset();
      for (const [value, v] of read()) this.set({ [label]: value }, v);
    },
  });
}
