// An in-memory HistorySource over Sample v1 values, for tests only: the console's production
// history comes from the ledger. It answers as the ledger-backed one must: points at the window's
// resolution, the period's coverage and gaps from the sample windows, cost per UTC day.
import { bucketPoints, coverageOf, type DayCost, type HistoryPoint, type HistorySource, type HistoryWindow, type MachineHistoryData } from '../../src/console/history.js';
import type { Sample } from '../../src/schema/sample.js';

const GiB = 2 ** 30;

export class MemoryHistory implements HistorySource {
  readonly calls: Array<{ kind: 'machine' | 'sparklines'; machine?: string; window?: HistoryWindow; machines?: readonly string[] }> = [];
  /** Answers wait for this (a test can hold them back), and fail with this error when set. */
  gate: Promise<void> = Promise.resolve();
  fail: Error | null = null;

  constructor(
    private readonly samples: Sample[],
    private readonly prices = { cpuCoreHour: 0.031611, memGiBHour: 0.004237 },
  ) {}

  add(...samples: Sample[]): void {
    this.samples.push(...samples);
  }

  private of(machine: string): Sample[] {
    return this.samples.filter((s) => s.machine === machine).sort((a, b) => a.end - b.end);
  }

  private point(s: Sample): HistoryPoint {
    const seconds = (s.end - s.start) / 1000;
    return { at: s.end, cpu: (s.cpu.busySeconds / (s.cpu.cores * seconds)) * 100, mem: (s.mem.usedBytes / s.mem.totalBytes) * 100, samples: 1 };
  }

  async machineHistory(machine: string, window: HistoryWindow): Promise<MachineHistoryData> {
    this.calls.push({ kind: 'machine', machine, window });
    await this.gate;
    if (this.fail) throw this.fail;
    const mine = this.of(machine);
    const inWindow = mine.filter((s) => s.end > window.from && s.end <= window.to).map((s) => this.point(s));
    const periodSoFar = Math.min(window.period.to, window.to);
    const perDay = new Map<string, number>();
    for (const s of mine) {
      if (s.end <= window.period.from || s.end > window.period.to) continue;
      const day = new Date(s.start).toISOString().slice(0, 10);
      const hours = (s.end - s.start) / 3_600_000;
      const cost = (s.cpu.busySeconds / 3600) * this.prices.cpuCoreHour + (s.mem.usedBytes / GiB) * hours * this.prices.memGiBHour;
      perDay.set(day, (perDay.get(day) ?? 0) + cost);
    }
    const costPerDay: DayCost[] = [...perDay].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([day, cost]) => ({ day, cost: cost.toFixed(6) }));
    return {
      points: bucketPoints(inWindow, window.stepMs),
      latest: mine.length ? mine[mine.length - 1]!.end : null,
      coverage: coverageOf(mine, window.period.from, periodSoFar, 1000),
      costPerDay,
    };
  }

  async recentSparklines(machines: readonly string[], options: { points: number; since: number }): Promise<Map<string, HistoryPoint[]>> {
    this.calls.push({ kind: 'sparklines', machines });
    await this.gate;
    if (this.fail) throw this.fail;
    const out = new Map<string, HistoryPoint[]>();
    for (const m of machines) {
      const points = this.of(m)
        .filter((s) => s.end >= options.since)
        .slice(-options.points)
        .map((s) => this.point(s));
      if (points.length) out.set(m, points);
    }
    return out;
  }
}
