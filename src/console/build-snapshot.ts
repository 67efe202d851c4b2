// Builds a ConsoleSnapshot from what the three stores hold, outside React. Machines come from both
// the live tail (CPU, memory, sparklines) and the ledger (costs, and machines the tail has not seen,
// so every machine billed is listed). Rows that did not change keep their identity from the previous
// snapshot, so memoised rows and tables do no work for them.
import type { MachineTrace } from './tail-store.js';
import type { MachineCost } from './ledger-store.js';
import type { BrokerHealth } from './lag-store.js';
import { SPARK_POINTS, type BudgetRow, type ConsoleSnapshot, type PipelineProblem, type CostView, type FleetTotals, type LagView, type LedgerView, type MachineHistory, type MachineRow } from './snapshot.js';

/** A machine silent for this many sample intervals is stale. */
export const STALE_INTERVALS = 3;

export interface SnapshotInputs {
  now: number;
  topic: string;
  group: string;
  intervalMs: number;
  tail: {
    machines: ReadonlyMap<string, MachineTrace>;
    state: 'connecting' | 'running' | 'reconnecting';
    message?: string;
    rate: number | null;
  };
  ledger: {
    view: LedgerView;
    machines: ReadonlyMap<string, MachineCost>;
    costs: CostView | null;
    fleet: FleetTotals;
    budgets?: readonly BudgetRow[];
  };
  /** Under `meter up`: its processes that died. */
  pipeline?: readonly PipelineProblem[];
  lag: { view: LagView; health: BrokerHealth };
  /** The machine the detail view shows: its whole history is copied into the snapshot. */
  detailMachine?: string | null;
}

interface CachedRow {
  trace: MachineTrace | undefined;
  traceVersion: number;
  cost: MachineCost | undefined;
  stale: boolean;
  row: MachineRow;
}

export class SnapshotBuilder {
  private detailCache: { trace: MachineTrace; version: number; history: MachineHistory } | null = null;

  private detail(input: SnapshotInputs): MachineHistory | null {
    const name = input.detailMachine;
    const trace = name ? input.tail.machines.get(name) : undefined;
    if (!name || !trace) return null;
    const cached = this.detailCache;
    if (cached && cached.trace === trace && cached.version === trace.version) return cached.history;
    const history = { machine: name, ends: trace.ends.slice(), cpu: trace.cpu.slice(), mem: trace.mem.slice() };
    this.detailCache = { trace, version: trace.version, history };
    return history;
  }

  private rows = new Map<string, CachedRow>();
  private machines: MachineRow[] = [];
  private labelKeys: string[] = [];
  private reconnectingSince: number | null = null;

  build(input: SnapshotInputs): ConsoleSnapshot {
    const { now, intervalMs } = input;
    const staleAfter = STALE_INTERVALS * intervalMs;
    const names = new Set<string>([...input.tail.machines.keys(), ...input.ledger.machines.keys()]);
    let changed = names.size !== this.rows.size;
    const next = new Map<string, CachedRow>();
    for (const name of names) {
      const trace = input.tail.machines.get(name);
      const cost = input.ledger.machines.get(name);
      const tailSeen = trace && trace.ends.length > 0 ? trace.ends[trace.ends.length - 1]! : null;
      const lastSeen = Math.max(tailSeen ?? -Infinity, cost?.lastSeen ?? -Infinity);
      const seen = Number.isFinite(lastSeen) ? lastSeen : null;
      const stale = seen === null || now - seen > staleAfter;
      const cached = this.rows.get(name);
      if (cached && cached.trace === trace && cached.traceVersion === (trace?.version ?? -1) && cached.cost === cost && cached.stale === stale) {
        next.set(name, cached);
        continue;
      }
      changed = true;
      const last = trace ? trace.cpu.length - 1 : -1;
      const row: MachineRow = {
        machine: name,
        labels: trace?.labels ?? cost?.labels ?? {},
        cpu: trace && last >= 0 ? trace.cpu[last]! : null,
        mem: trace && last >= 0 ? trace.mem[last]! : null,
        // Only what the sparkline shows: copying whole histories of a big fleet every frame is
        // most of what the garbage collector would otherwise have to clean up.
        cpuHistory: trace ? trace.cpu.slice(-SPARK_POINTS) : [],
        cores: trace?.cores ?? null,
        memTotalBytes: trace?.memTotalBytes ?? null,
        lastSeen: seen,
        stale,
        costPerHour: cost?.costPerHour ?? null,
        periodCost: cost?.periodCost ?? null,
        forecast: cost?.forecast ?? null,
      };
      next.set(name, { trace, traceVersion: trace?.version ?? -1, cost, stale, row });
    }
    this.rows = next;
    if (changed) {
      this.machines = [...next.values()].map((c) => c.row);
      const keys = new Set<string>();
      for (const m of this.machines) for (const k of Object.keys(m.labels)) keys.add(k);
      const sorted = [...keys].sort();
      if (sorted.join('\u0000') !== this.labelKeys.join('\u0000')) this.labelKeys = sorted;
    }

    // The broker: reconnecting when either connection is failing; connected once the admin API answers.
    const { health } = input.lag;
    let broker: ConsoleSnapshot['broker'];
    if (health.state === 'reconnecting' || input.tail.state === 'reconnecting') {
      this.reconnectingSince ??= health.state === 'reconnecting' && health.since !== null ? health.since : now;
      broker = { state: 'reconnecting', since: this.reconnectingSince, message: health.message ?? input.tail.message };
    } else {
      this.reconnectingSince = null;
      broker = { state: health.state, since: health.since };
    }

    return {
      now,
      topic: input.topic,
      group: input.group,
      intervalMs,
      broker,
      machines: this.machines,
      fleet: input.ledger.fleet,
      costs: input.ledger.costs,
      ledger: input.ledger.view,
      lag: input.lag.view,
      labelKeys: this.labelKeys,
      tailRate: input.tail.rate,
      detail: this.detail(input),
      budgets: input.ledger.budgets ?? [],
      pipeline: input.pipeline ?? [],
    };
  }
}
