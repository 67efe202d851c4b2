// What the console knows of each machine's recent samples, whichever live source reads them (the
// topic's tail, tail-store.ts, or the ledger's new rows, ledger-tail.ts): a short trace per machine,
// the machines changed since the last frame, and the arrival rate. The sources differ only in where
// their samples come from.
import type { Sample } from '../schema/sample.js';
import { SlidingRate } from './sliding-rate.js';
import type { TailSample } from './tail-decode.js';

export interface MachineTrace {
  machine: string;
  labels: Record<string, string>;
  cores: number;
  memTotalBytes: number;
  /** Window ends (epoch ms), CPU % and memory % of recent samples, oldest first, equal lengths. */
  ends: number[];
  cpu: number[];
  mem: number[];
  /** Bumped on every change, so snapshot building can reuse what did not change. */
  version: number;
}

export type TailState = 'connecting' | 'running' | 'reconnecting';

export interface TraceOptions {
  /** Samples kept per machine. */
  maxPoints: number;
  /** Called (at most once per tick of the caller's choosing) when anything changed. */
  onChange?: () => void;
  now?: () => number;
}

/** What the console's data side reads of a live source (the hub, the snapshot builder, --once). */
export interface LiveSource {
  readonly machines: ReadonlyMap<string, MachineTrace>;
  readonly state: TailState;
  readonly message: string | undefined;
  /** Samples read since start. */
  readonly received: number;
  readonly changedCount: number;
  drainChanged(): ReadonlySet<string>;
  rate(): number | null;
  /** True once the source has read what was there when it started (for --once). */
  caughtUp(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Moves every value down one place (the first is dropped) and writes `value` last, in place. */
function dropOldest(values: number[], value: number): void {
  const last = values.length - 1;
  for (let i = 0; i < last; i++) values[i] = values[i + 1]!;
  values[last] = value;
}

export class MachineTraces {
  readonly machines = new Map<string, MachineTrace>();
  state: TailState = 'connecting';
  /** The last error, in one line, while not running. */
  message: string | undefined;
  /** Samples read since start, and the ones that were not valid Sample v1. */
  received = 0;
  invalid = 0;
  /** Bumped on every change. */
  version = 0;
  protected readonly arrivals = new SlidingRate();
  /** Machines whose traces changed since drainChanged() was last called. */
  private changedMachines = new Set<string>();
  protected readonly now: () => number;

  constructor(private readonly traceOptions: TraceOptions) {
    this.now = traceOptions.now ?? Date.now;
  }

  protected setState(state: TailState, message?: string): void {
    if (this.state === state && this.message === message) return;
    this.state = state;
    this.message = message;
    this.changed();
  }

  protected changed(): void {
    this.version++;
    this.traceOptions.onChange?.();
  }

  /** Adds one Sample v1 to its machine's trace (see addSample). */
  add(sample: Sample): void {
    this.addSample({
      machine: sample.machine,
      labels: sample.labels,
      start: sample.start,
      end: sample.end,
      cores: sample.cpu.cores,
      busySeconds: sample.cpu.busySeconds,
      totalBytes: sample.mem.totalBytes,
      usedBytes: sample.mem.usedBytes,
    });
  }

  /** Adds one sample to its machine's trace, in window order; a sample seen twice is kept once. */
  addSample(sample: TailSample): void {
    const { maxPoints } = this.traceOptions;
    let trace = this.machines.get(sample.machine);
    if (!trace) {
      trace = { machine: sample.machine, labels: sample.labels, cores: sample.cores, memTotalBytes: sample.totalBytes, ends: [], cpu: [], mem: [], version: 0 };
      this.machines.set(sample.machine, trace);
    }
    const windowSeconds = (sample.end - sample.start) / 1000;
    const cpu = (sample.busySeconds / (sample.cores * windowSeconds)) * 100;
    const mem = sample.totalBytes > 0 ? (sample.usedBytes / sample.totalBytes) * 100 : 0;
    const ends = trace.ends;
    let at = ends.length;
    while (at > 0 && ends[at - 1]! >= sample.end) {
      if (ends[at - 1] === sample.end) return; // already have it
      at--;
    }
    if (at === ends.length) {
      if (ends.length >= maxPoints) {
        // Full, the usual case: every point moves down one in place and the newest goes last. The
        // arrays never change size, so nothing is allocated: shift() then push() made V8 grow each
        // array's storage every few samples, new storage for long-lived traces that the garbage
        // collector then promoted and later had to mark and free (2,000 samples a second at 10,000
        // machines).
        dropOldest(ends, sample.end);
        dropOldest(trace.cpu, cpu);
        dropOldest(trace.mem, mem);
      } else {
        ends.push(sample.end);
        trace.cpu.push(cpu);
        trace.mem.push(mem);
      }
      // The newest sample describes the machine now.
      trace.labels = sample.labels;
      trace.cores = sample.cores;
      trace.memTotalBytes = sample.totalBytes;
    } else {
      if (at === 0 && ends.length >= maxPoints) return; // older than everything kept
      ends.splice(at, 0, sample.end);
      trace.cpu.splice(at, 0, cpu);
      trace.mem.splice(at, 0, mem);
    }
    // Over after an insertion in the middle (a late sample): drop the oldest.
    while (ends.length > maxPoints) {
      ends.shift();
      trace.cpu.shift();
      trace.mem.shift();
    }
    trace.version++;
    // The trace's own name, not the message's copy of it: the snapshot builder looks every changed
    // name up in several maps, and the same string object compares at once.
    this.changedMachines.add(trace.machine);
  }

  /** How many machines' traces changed since drainChanged() was last called. */
  get changedCount(): number {
    return this.changedMachines.size;
  }

  /** The machines whose traces changed since the last call (for building only their rows). */
  drainChanged(): ReadonlySet<string> {
    const changed = this.changedMachines;
    this.changedMachines = new Set();
    return changed;
  }

  /** Samples per second over the last ~30 s. */
  rate(): number | null {
    return this.arrivals.rate(this.now());
  }
}
