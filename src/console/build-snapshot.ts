// Builds a ConsoleSnapshot from what the three stores hold, outside React. Machines come from both
// the live tail (CPU, memory, sparklines) and the ledger (costs, and machines the tail has not seen,
// so every machine billed is listed). Rows that did not change keep their version from the previous
// snapshot, so memoised readers (the fleet order, the table's measured widths) do no work for them.
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
    /** Where its samples come from (the topic when not said). */
    source?: 'ledger' | 'topic';
  };
  ledger: {
    view: LedgerView;
    machines: ReadonlyMap<string, MachineCost>;
    /**
     * Machines whose costs changed since the last build (the map may be a new one); absent with a
     * new map: look at every machine. They are brought in a few thousand per build, so a ledger
     * poll of a big fleet never makes one long frame.
     */
    changed?: ReadonlySet<string>;
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
    /** Machines whose sparkline history arrived since the last build; absent with a new map: every machine. */
    sparklinesChanged?: ReadonlySet<string>;
    /** The billing period now (coverage and cost per day are for it). */
    period: { from: number; to: number };
  };
}

/** Rows brought up to date per build beyond the tail's: the rest of a big ledger poll waits a frame or two. */
export const QUEUED_ROWS_PER_BUILD = 2000;

/**
 * The tail's rows brought up to date per step of advance(). A big fleet's samples can arrive together
 * (agents restarted at once, every spool flushed after a broker outage, the simulator sampling all its
 * machines at one instant): 10,000 rows rebuilt inside one frame made it 20-40 ms.
 * Between frames, in steps of this many, they cost a frame nothing.
 */
export const TAIL_ROWS_PER_STEP = 2000;

/** A FleetRow's number as MachineRow gives it: NaN, kept for none, is null. */
const orNull = (n: number): number | null => (Number.isNaN(n) ? null : n);

/**
 * A machine's row, brought up to date in place: each changed machine's row used to be a new object,
 * living until the machine's next sample (5 s), so always promoted and left for a full collection:
 * at 10,000 machines a fifth of what the console's full collections freed. Its version changes with
 * every update (the fleet order and memoised readers look at it, not at the object's identity). Its
 * numbers are kept as NaN for none, so V8 stores them in place instead of boxing each new value.
 * Its sparkline is computed when something reads it (the fleet pane, for the rows on screen).
 */
class FleetRow implements MachineRow {
  labels: Record<string, string> = {};
  cores: number | null = null;
  stale = true;
  costPerHour: string | null = null;
  periodCost: string | null = null;
  forecast: string | null = null;
  /** What it was built from, so the builder can tell whether it is still true. */
  trace: MachineTrace | undefined = undefined;
  traceVersion = -1;
  recent: readonly HistoryPoint[] | undefined = undefined;
  cost: MachineCost | undefined = undefined;
  /** The labels object whose keys the builder last collected. */
  labelsSeen: Record<string, string> | undefined = undefined;
  version = 0;
  private cpuNow = NaN;
  private memNow = NaN;
  private memTotal = NaN;
  private seenAt = NaN;
  private spark: readonly number[] | undefined;

  constructor(readonly machine: string) {}

  get cpu(): number | null {
    return orNull(this.cpuNow);
  }
  get mem(): number | null {
    return orNull(this.memNow);
  }
  get memTotalBytes(): number | null {
    return orNull(this.memTotal);
  }
  get lastSeen(): number | null {
    return orNull(this.seenAt);
  }
  get cpuHistory(): readonly number[] {
    return (this.spark ??= sparkValues(this.trace, this.recent));
  }

  /** Whether it was last seen before `horizon` (or never): stale, once the clock passes it. */
  silentSince(horizon: number): boolean {
    return !(this.seenAt >= horizon); // NaN, never seen, compares false
  }

  /** Whether it shows what these sources hold. */
  isFrom(trace: MachineTrace | undefined, cost: MachineCost | undefined, stale: boolean, recent: readonly HistoryPoint[] | undefined): boolean {
    return this.version > 0 && this.trace === trace && this.traceVersion === (trace?.version ?? -1) && this.cost === cost && this.stale === stale && this.recent === recent;
  }

  /** Shows what these sources hold, under a new version. */
  update(trace: MachineTrace | undefined, cost: MachineCost | undefined, seen: number | null, stale: boolean, recent: readonly HistoryPoint[] | undefined): void {
    const last = trace ? trace.cpu.length - 1 : -1;
    this.labels = trace?.labels ?? cost?.labels ?? {};
    this.cpuNow = trace && last >= 0 ? trace.cpu[last]! : NaN;
    this.memNow = trace && last >= 0 ? trace.mem[last]! : NaN;
    this.cores = trace?.cores ?? null;
    this.memTotal = trace?.memTotalBytes ?? NaN;
    this.seenAt = seen ?? NaN;
    this.stale = stale;
    this.costPerHour = cost?.costPerHour ?? null;
    this.periodCost = cost?.periodCost ?? null;
    this.forecast = cost?.forecast ?? null;
    this.trace = trace;
    this.traceVersion = trace?.version ?? -1;
    this.recent = recent;
    this.cost = cost;
    this.spark = undefined;
    this.version++;
  }
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

  private rows = new Map<string, FleetRow>();
  /** Where each machine's row is in `machines`. */
  private index = new Map<string, number>();
  private machines: MachineRow[] = [];
  private labelKeys: string[] = [];
  private reconnectingSince: number | null = null;
  private seen: { ledger: unknown; sparklines: unknown; intervalMs: number } = { ledger: null, sparklines: null, intervalMs: 0 };

  /**
   * Brings one machine's row up to date, in place (a new row for a machine not seen before), from
   * its trace and cost (looked up once by the caller): the row when anything it shows changed.
   */
  private refreshRow(name: string, trace: MachineTrace | undefined, cost: MachineCost | undefined, input: SnapshotInputs, staleAfter: number): FleetRow | null {
    const tailSeen = trace && trace.ends.length > 0 ? trace.ends[trace.ends.length - 1]! : null;
    const lastSeen = Math.max(tailSeen ?? -Infinity, cost?.lastSeen ?? -Infinity);
    const seen = Number.isFinite(lastSeen) ? lastSeen : null;
    const stale = seen === null || input.now - seen > staleAfter;
    const recent = input.history?.sparklines.get(name);
    let row = this.rows.get(name);
    if (row?.isFrom(trace, cost, stale, recent)) return null;
    if (!row) {
      row = new FleetRow(name);
      this.rows.set(name, row);
    }
    row.update(trace, cost, seen, stale, recent);
    return row;
  }

  /**
   * Machines whose rows wait to be brought up to date: the tail's changes first (from tailHead on),
   * then the ledger's and the history's (`queued`). The tail's are an array, not a Set: a Set of a
   * burst's 10,000 names grew and shrank its table as they came and went, promoted garbage for every
   * burst. A name queued twice is brought up to date once; the second time finds nothing new.
   */
  private tailQueue: string[] = [];
  private tailHead = 0;
  private queued = new Set<string>();

  /** Every machine's row as brought up to date so far (the next snapshot's, when nothing else changes). */
  get currentMachines(): readonly MachineRow[] {
    return this.machines;
  }

  /** Whether the tail's changes wait for a step of advance() or the next build. */
  get tailPending(): boolean {
    return this.tailHead < this.tailQueue.length;
  }

  /**
   * Brings up to TAIL_ROWS_PER_STEP of the tail's changed rows up to date between frames, without a
   * snapshot; the ledger's and the history's changes are only queued. The next build uses the rows.
   */
  advance(input: SnapshotInputs): void {
    this.buildRows(input, TAIL_ROWS_PER_STEP, 0, false);
  }
  /** Label keys seen on any row since the last full build, to know when a new one appears. */
  private labelKeySet = new Set<string>();

  /**
   * Rows for every machine. When each source says which machines changed, only those rows are looked
   * at (the tail's at once, the ledger's and the history's up to QUEUED_ROWS_PER_BUILD per build),
   * plus rows turning stale: the work per frame follows what arrived, not the size of the fleet.
   */
  private buildRows(input: SnapshotInputs, tailBudget: number, queuedBudget: number, staleCheck: boolean): boolean {
    const staleAfter = STALE_INTERVALS * input.intervalMs;
    const sparklines = input.history?.sparklines ?? null;
    const ledgerMoved = input.ledger.machines !== this.seen.ledger;
    const sparklinesMoved = sparklines !== this.seen.sparklines;
    const full =
      !input.tail.changed ||
      input.intervalMs !== this.seen.intervalMs ||
      (ledgerMoved && !input.ledger.changed) ||
      (sparklinesMoved && !input.history?.sparklinesChanged);
    this.seen = { ledger: input.ledger.machines, sparklines, intervalMs: input.intervalMs };
    if (full) {
      this.queued.clear();
      this.tailQueue = [];
      this.tailHead = 0;
      const names = new Set<string>([...input.tail.machines.keys(), ...input.ledger.machines.keys()]);
      let members = false;
      for (const name of this.rows.keys()) {
        if (names.has(name)) continue;
        this.rows.delete(name);
        members = true;
      }
      let changed = false;
      for (const name of names) {
        const known = this.rows.has(name);
        if (this.refreshRow(name, input.tail.machines.get(name), input.ledger.machines.get(name), input, staleAfter)) changed = true;
        if (!known) members = true;
      }
      if (!members && !changed) return false;
      // A new array either way (rows are brought up to date in place): whoever kept the last one sees a change.
      this.machines = members ? [...this.rows.values()] : this.machines.slice();
      if (members) this.index = new Map([...this.rows.keys()].map((name, i) => [name, i]));
      this.labelKeySet = new Set();
      for (const m of this.machines) for (const k in m.labels) this.labelKeySet.add(k);
      const sorted = [...this.labelKeySet].sort();
      if (sorted.join('\u0000') !== this.labelKeys.join('\u0000')) this.labelKeys = sorted;
      return true;
    }
    let machines: MachineRow[] | null = null;
    let newLabelKey = false;
    let removed = false;
    const update = (name: string) => {
      const trace = input.tail.machines.get(name);
      const cost = input.ledger.machines.get(name);
      if (!trace && !cost) {
        // Known to neither the tail nor the ledger (a ledger replaced by another): no row.
        if (this.rows.delete(name)) removed = true;
        return;
      }
      const r = this.refreshRow(name, trace, cost, input, staleAfter);
      if (!r) return;
      machines ??= this.machines.slice(); // a new array: whoever kept the last one sees a change
      if (!this.index.has(name)) {
        this.index.set(name, machines.length);
        machines.push(r);
      }
      // The decoder hands out the same labels object while a machine's labels do not change.
      if (r.labels !== r.labelsSeen) {
        r.labelsSeen = r.labels;
        for (const k in r.labels) {
          if (!this.labelKeySet.has(k)) {
            this.labelKeySet.add(k);
            newLabelKey = true;
          }
        }
      }
    };
    const queue = this.tailQueue;
    for (const name of input.tail.changed!) queue.push(name);
    while (this.tailHead < queue.length && tailBudget-- > 0) {
      const name = queue[this.tailHead++]!;
      this.queued.delete(name);
      update(name);
    }
    if (this.tailHead === queue.length) {
      queue.length = 0;
      this.tailHead = 0;
    }
    for (const name of input.ledger.changed ?? []) this.queued.add(name);
    for (const name of input.history?.sparklinesChanged ?? []) this.queued.add(name);
    for (const name of this.queued) {
      if (queuedBudget-- <= 0) break;
      this.queued.delete(name);
      update(name);
    }
    // Silence makes a row stale without any data arriving: at each build (the steps between frames
    // only bring the tail's rows), a cheap pass over the cached rows (their values, not entries: a
    // [name, row] pair a row, 10,000 on every step and frame, was a fifth of the console's garbage).
    if (staleCheck) {
      const horizon = input.now - staleAfter;
      for (const c of this.rows.values()) if (c.silentSince(horizon) !== c.stale) update(c.machine);
    }
    if (newLabelKey) this.labelKeys = [...this.labelKeySet].sort();
    if (removed) {
      this.machines = [...this.rows.values()];
      this.index = new Map([...this.rows.keys()].map((name, i) => [name, i]));
      return true;
    }
    if (machines) this.machines = machines;
    return machines !== null;
  }

  build(input: SnapshotInputs): ConsoleSnapshot {
    const { now, intervalMs } = input;
    // Every change of the tail is on screen at each frame; a big ledger poll comes in parts.
    this.buildRows(input, Infinity, QUEUED_ROWS_PER_BUILD, true);

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
      liveFrom: input.tail.source ?? 'topic',
      detail: this.detail(input),
      budgets: input.ledger.budgets ?? [],
      pipeline: input.pipeline ?? [],
    };
  }
}
