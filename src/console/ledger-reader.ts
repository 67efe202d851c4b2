// The console's ledger, read on a thread of its own (ledger-thread.ts): the cost store's polls and the
// history's questions run there, against the one read-only ledger it owns, and this side mirrors the
// store's state as it arrives. A SQLite read (synchronous under the async interface) or a big
// invoice computation then costs the screen nothing: frames and keys go on meanwhile.
import { Worker } from 'node:worker_threads';
import type { RateCard } from '../billing/index.js';
import type { HistoryPoint, HistorySource, HistoryWindow, MachineHistoryData } from './history.js';
import type { LedgerSource, LedgerStoreOptions, MachineCost } from './ledger-store.js';
import { emptyFleetTotals, pricesAreWhatIf, type BudgetRow, type CostView, type FleetTotals, type LedgerView } from './snapshot.js';

/** What the thread is started with. */
export interface ReaderSetup {
  path: string;
  rateCard: RateCard;
  pollMs: number;
  costBy: string;
  runRateWindowMs?: number;
}

/** Machines (and cost lines) per state message: the main thread takes one at a time, between frames. */
export const STATE_CHUNK = 1000;

/** The cost store's state but its machines and cost lines, which follow in chunks. */
export interface StateHead {
  view: LedgerView;
  fleet: FleetTotals;
  budgets: readonly BudgetRow[];
  lastPollMs: number;
  /** The cost view without its lines. */
  costs: CostView | null;
}

export type ReaderRequest =
  | { type: 'machineHistory'; id: number; machine: string; window: HistoryWindow }
  | { type: 'recentSparklines'; id: number; machines: readonly string[]; options: { points: number; since: number } }
  | { type: 'setCostBy'; id: number; by: string }
  | { type: 'poll'; id: number };

export type ReaderReply =
  | { type: 'state'; part: number; parts: number; head?: StateHead; machines: MachineCost[]; lines: CostView['lines'][number][] }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string };

/** Two machines' costs as shown: the same, or not. */
const sameCost = (a: MachineCost, b: MachineCost) =>
  a.lastSeen === b.lastSeen &&
  a.costPerHour === b.costPerHour &&
  a.periodCost === b.periodCost &&
  a.forecast === b.forecast &&
  JSON.stringify(a.labels) === JSON.stringify(b.labels);

type Question = ReaderRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** The thread's entry module: .ts when running from source (through tsx), .js when built. */
function threadModule(): { code: string; eval: true } | { url: URL; eval: false } {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./ledger-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return { url, eval: false };
  // A thread does not inherit tsx's loader: register it, then load the entry.
  const loader = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return { code: `import(${loader}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`, eval: true };
}

export class LedgerReader implements LedgerSource, HistorySource {
  view: LedgerView;
  /** Updated in place as each poll's state arrives; drainChanged() says which machines changed. */
  readonly machines = new Map<string, MachineCost>();
  private changed = new Set<string>();
  private incoming: { head: StateHead; machines: MachineCost[]; lines: CostView['lines'][number][] } | undefined;
  costs: CostView | null = null;
  fleet: FleetTotals;
  budgets: readonly BudgetRow[] = [];
  lastPollMs = 0;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private stopped = false;

  constructor(private readonly options: Omit<LedgerStoreOptions, 'connection' | 'now'>) {
    this.view = { state: 'loading', path: options.path, polledAt: null };
    this.fleet = emptyFleetTotals(options.rateCard.currency, options.whatIf ?? pricesAreWhatIf(options.rateCard));
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const { path, rateCard, pollMs, costBy, runRateWindowMs } = this.options;
    const workerData: ReaderSetup = { path, rateCard, pollMs, costBy, runRateWindowMs };
    const entry = threadModule();
    const worker = entry.eval ? new Worker(entry.code, { eval: true, workerData }) : new Worker(entry.url, { workerData });
    // The console's process ends when the operator quits, whatever the thread is doing.
    worker.unref();
    worker.on('message', (reply: ReaderReply) => this.receive(reply));
    worker.on('error', (error) => this.failed(error.message));
    worker.on('exit', (code) => {
      if (!this.stopped) this.failed(`the ledger thread exited (code ${code})`);
    });
    this.worker = worker;
    return worker;
  }

  private receive(reply: ReaderReply): void {
    if (reply.type === 'state') {
      this.takePart(reply);
      // The next part once this one is in and the event loop has turned (a frame may go first).
      setImmediate(() => this.worker?.postMessage({ type: 'ack' }));
      return;
    }
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if (reply.type === 'result') waiter?.resolve(reply.result);
    else waiter?.reject(new Error(reply.message));
  }

  private takePart(part: Extract<ReaderReply, { type: 'state' }>): void {
    if (part.part === 0) this.incoming = { head: part.head!, machines: [], lines: [] };
    const incoming = this.incoming;
    if (!incoming) return;
    for (const m of part.machines) incoming.machines.push(m);
    for (const l of part.lines) incoming.lines.push(l);
    if (part.part < part.parts - 1) return;
    this.incoming = undefined;
    const { head } = incoming;
    const names = new Set<string>();
    for (const m of incoming.machines) {
      names.add(m.machine);
      const before = this.machines.get(m.machine);
      if (before && sameCost(before, m)) continue;
      this.machines.set(m.machine, m);
      this.changed.add(m.machine);
    }
    for (const name of this.machines.keys()) {
      if (names.has(name)) continue;
      this.machines.delete(name);
      this.changed.add(name);
    }
    this.view = head.view;
    this.costs = head.costs && { ...head.costs, lines: incoming.lines };
    this.fleet = head.fleet;
    this.budgets = head.budgets;
    this.lastPollMs = head.lastPollMs;
    this.options.onChange?.();
  }

  drainChanged(): ReadonlySet<string> {
    const changed = this.changed;
    this.changed = new Set();
    return changed;
  }

  private failed(message: string): void {
    this.worker = undefined;
    this.view = { state: 'error', message: `ledger: ${message}`, path: this.options.path, polledAt: this.view.polledAt };
    for (const waiter of this.pending.values()) waiter.reject(new Error(message));
    this.pending.clear();
    this.options.onChange?.();
  }

  private ask<T>(question: Question): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('the console is closing'));
    const id = this.nextId++;
    const worker = this.thread();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...question, id });
    });
  }

  start(): void {
    this.stopped = false;
    this.thread().postMessage({ type: 'start' });
  }

  setCostBy(by: string): Promise<void> {
    return this.ask({ type: 'setCostBy', by });
  }

  /** Reads the ledger once now (the thread's poll), resolved when its state has arrived. */
  poll(): Promise<void> {
    return this.ask({ type: 'poll' });
  }

  machineHistory(machine: string, window: HistoryWindow): Promise<MachineHistoryData> {
    return this.ask({ type: 'machineHistory', machine, window });
  }

  recentSparklines(machines: readonly string[], options: { points: number; since: number }): Promise<Map<string, HistoryPoint[]>> {
    return this.ask({ type: 'recentSparklines', machines, options });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    for (const waiter of this.pending.values()) waiter.reject(new Error('the console is closing'));
    this.pending.clear();
    if (!worker) return;
    worker.postMessage({ type: 'stop' });
    // It closes its ledger and ends; one stuck in a long read is ended after a moment.
    setTimeout(() => void worker.terminate(), 2000).unref();
  }
}
