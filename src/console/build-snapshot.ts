// Builds a ConsoleSnapshot from what the three stores hold, outside React. Machines come from both
// the live tail (CPU, memory, sparklines) and the ledger (costs, and machines the tail has not seen,
// so every machine billed is listed). Rows that did not change keep their identity from the previous
// snapshot, so memoised rows and tables do no work for them.
import type { MachineTrace } from './tail-store.js';
import type { MachineCost } from './ledger-store.js';
import type { BrokerHealth } from './lag-store.js';
import { SPARK_POINTS, type BudgetRow, type ConsoleSnapshot, type PipelineProblem, type CostView, type FleetTotals, type LagView, type LedgerView, type DetailHistory, type MachineRow } from './snapshot.js';
import { bucketPoints, extendWithTail, historyWindow, type HistoryPoint } from './history.js';
import type { DetailRequest, DetailState } from './history-store.js';

/** A machine silent for this many sample intervals is stale. */
export const STALE_INTERVALS = 3;

export interface SnapshotInputs {
  now: number;
  topic: string;
  group: string;
  intervalMs: number;
  tail: {
    machines: ReadonlyMap<string, MachineTrace>;
    /** Machines whose traces changed since the last build; absent: look at every machine. */
    changed?: ReadonlySet<string>;
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
  history?: {
    /** What the detail view asked for (null: it is closed), and what the HistorySource answered (null: no source). */
    request: DetailRequest | null;
    answer: DetailState | null;
    /** Whether there is a HistorySource at all. */
    hasSource: boolean;
    /** Recent history per machine from the source, to fill sparklines the tail has not filled yet. */
    sparklines: ReadonlyMap<string, readonly HistoryPoint[]>;
    /** The billing period now (coverage and cost per day are for it). */
    period: { from: number; to: number };
  };
}

interface CachedRow {
  trace: MachineTrace | undefined;
  traceVersion: number;
  recent: readonly HistoryPoint[] | undefined;
  cost: MachineCost | undefined;
  stale: boolean;
  lastSeen: number | null;
  row: MachineRow;
}

/**
 * A sparkline's values: what the live tail saw, preceded by the source's recent history from before
 * the tail's first sample (so a console opened on a running fleet shows trends at once).
 */
export function sparkValues(trace: Pick<MachineTrace, 'ends' | 'cpu'> | undefined, recent: readonly HistoryPoint[] | undefined): number[] {
  const tail = trace ? trace.cpu.slice(-SPARK_POINTS) : [];
  if (!recent || recent.length === 0 || tail.length >= SPARK_POINTS) return tail;
  const firstTail = trace && trace.ends.length > 0 ? trace.ends[trace.ends.length - tail.length]! : Infinity;
  const before: number[] = [];
  for (const p of recent) if (p.at < firstTail) before.push(p.cpu);
  return [...before, ...tail].slice(-SPARK_POINTS);
}

export class SnapshotBuilder {
  private detailCache: { key: unknown[]; history: DetailHistory } | null = null;

  /** The detail view's history: the source's answer extended by the live tail, or the tail alone. */
  private detail(input: SnapshotInputs): DetailHistory | null {
    const request = input.history?.request;
    if (!request) return null;
    const trace = input.tail.machines.get(request.machine);
    const answer = input.history!.answer;
    const own = answer && answer.request.machine === request.machine && answer.request.range === request.range ? answer : null;
    // The chart's window follows the clock to the second; the points change only with new data.
    const second = Math.floor(input.now / 1000);
    const key = [request.machine, request.range, request.chartColumns, own, own?.data, trace, trace?.version, second];
    const cached = this.detailCache;
    if (cached && cached.key.length === key.length && cached.key.every((k, i) => k === key[i])) return cached.history;
    const window = historyWindow(request.range, input.now, input.history!.period, request.chartColumns);
    const tail = trace ?? { ends: [], cpu: [], mem: [] };
    let points: HistoryPoint[];
    if (own?.data) points = extendWithTail(own.data.points, own.data.latest, tail, window);
    else points = bucketPoints(extendWithTail([], null, tail, window), window.stepMs);
    const history: DetailHistory = {
      machine: request.machine,
      range: request.range,
      from: window.from,
      to: window.to,
      stepMs: window.stepMs,
      state: own ? own.state : answer === null && !input.history!.hasSource ? 'tail-only' : 'loading',
      message: own?.message,
      points,
      coverage: own?.data?.coverage ?? null,
      costPerDay: own?.data?.costPerDay ?? null,
    };
    this.detailCache = { key, history };
    return history;
  }

  private rows = new Map<string, CachedRow>();
  /** Where each machine's row is in `machines`. */
  private index = new Map<string, number>();
  private machines: MachineRow[] = [];
  private labelKeys: string[] = [];
  private reconnectingSince: number | null = null;
  private seen: { ledger: unknown; sparklines: unknown; intervalMs: number } = { ledger: null, sparklines: null, intervalMs: 0 };

  /** The row of one machine: the cached one when nothing it shows changed. */
  private row(name: string, input: SnapshotInputs, staleAfter: number): CachedRow {
    const trace = input.tail.machines.get(name);
    const cost = input.ledger.machines.get(name);
    const tailSeen = trace && trace.ends.length > 0 ? trace.ends[trace.ends.length - 1]! : null;
    const lastSeen = Math.max(tailSeen ?? -Infinity, cost?.lastSeen ?? -Infinity);
    const seen = Number.isFinite(lastSeen) ? lastSeen : null;
    const stale = seen === null || input.now - seen > staleAfter;
    const recent = input.history?.sparklines.get(name);
    const cached = this.rows.get(name);
    if (cached && cached.trace === trace && cached.traceVersion === (trace?.version ?? -1) && cached.cost === cost && cached.stale === stale && cached.recent === recent) {
      return cached;
    }
    const last = trace ? trace.cpu.length - 1 : -1;
    const row: MachineRow = {
      machine: name,
      labels: trace?.labels ?? cost?.labels ?? {},
      cpu: trace && last >= 0 ? trace.cpu[last]! : null,
      mem: trace && last >= 0 ? trace.mem[last]! : null,
      // Only what the sparkline shows: copying whole histories of a big fleet every frame is
      // most of what the garbage collector would otherwise have to clean up.
      cpuHistory: sparkValues(trace, recent),
      cores: trace?.cores ?? null,
      memTotalBytes: trace?.memTotalBytes ?? null,
      lastSeen: seen,
      stale,
      costPerHour: cost?.costPerHour ?? null,
      periodCost: cost?.periodCost ?? null,
      forecast: cost?.forecast ?? null,
    };
    return { trace, traceVersion: trace?.version ?? -1, recent, cost, stale, lastSeen: seen, row };
  }

  /**
   * Rows for every machine. When the tail says which machines changed (and the ledger's and the
   * history's maps are the ones of the last build), only those rows are looked at, plus rows turning
   * stale: the work per frame follows what arrived, not the size of the fleet.
   */
  private buildRows(input: SnapshotInputs): boolean {
    const staleAfter = STALE_INTERVALS * input.intervalMs;
    const sparklines = input.history?.sparklines ?? null;
    const full =
      !input.tail.changed || input.ledger.machines !== this.seen.ledger || sparklines !== this.seen.sparklines || input.intervalMs !== this.seen.intervalMs;
    this.seen = { ledger: input.ledger.machines, sparklines, intervalMs: input.intervalMs };
    if (full) {
      const names = new Set<string>([...input.tail.machines.keys(), ...input.ledger.machines.keys()]);
      let changed = names.size !== this.rows.size;
      const next = new Map<string, CachedRow>();
      for (const name of names) {
        const r = this.row(name, input, staleAfter);
        if (r !== this.rows.get(name)) changed = true;
        next.set(name, r);
      }
      this.rows = next;
      if (changed) {
        this.machines = [...next.values()].map((c) => c.row);
        this.index = new Map([...next.keys()].map((name, i) => [name, i]));
      }
      return changed;
    }
    let machines: MachineRow[] | null = null;
    const update = (name: string) => {
      const before = this.rows.get(name);
      const r = this.row(name, input, staleAfter);
      if (r === before) return;
      this.rows.set(name, r);
      machines ??= this.machines.slice();
      const at = this.index.get(name);
      if (at === undefined) {
        this.index.set(name, machines.length);
        machines.push(r.row);
      } else machines[at] = r.row;
    };
    for (const name of input.tail.changed!) update(name);
    // Silence makes a row stale without any data arriving: a cheap pass over the cached rows.
    const horizon = input.now - staleAfter;
    for (const [name, c] of this.rows) {
      const stale = c.lastSeen === null || c.lastSeen < horizon;
      if (stale !== c.stale) update(name);
    }
    if (machines) this.machines = machines;
    return machines !== null;
  }

  build(input: SnapshotInputs): ConsoleSnapshot {
    const { now, intervalMs } = input;
    const changed = this.buildRows(input);
    if (changed) {
      const keys = new Set<string>();
      for (const m of this.machines) for (const k in m.labels) keys.add(k);
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
