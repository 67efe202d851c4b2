// Turns the host's cumulative counters into Sample v1 windows that tile time: each window starts
// exactly where the previous one ended. The sampler's state (counters and clocks at the last window's
// end) travels inside the spool line of that window's sample, so the sample and the state that
// follows it are written in one step: a restart continues from the spool's last line, and no window
// is metered twice or missed, whatever instant a kill lands on.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_VERSION, sampleId, type Sample } from '../schema/sample.js';
import type { HostCounters } from './host-counters.js';
import type { Logger } from '../log/logger.js';
import { systemClock, type Clock } from './clock.js';
import { stampWindow } from './window-stamp.js';

/** Saved with every sample: where the next window starts. */
export interface SamplerState {
  boot: string;
  machine: string;
  /** Stamped end of the last window, epoch ms. */
  end: number;
  /** Wall clock when it closed. */
  wall: number;
  /** Monotonic clock when it closed (ms); absent in state carried over from an older agent. */
  mono?: number;
  /** Cumulative busy seconds at its end. */
  busy: number;
}

export interface HostSamplerOptions {
  machine: string;
  labels: Record<string, string>;
  counters: HostCounters;
  /** The state the spool ended with (SamplerState as JSON), if any. */
  saved: string | undefined;
  /** The spool directory: where an older agent kept its counters in a file of their own. */
  legacyDir?: string;
  logger: Logger;
  clock?: Clock;
}

export interface TakenSample {
  sample: Sample;
  /** The state after this sample, to be spooled with it (JSON). */
  state: string;
}

function parseState(text: string | undefined): SamplerState | undefined {
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as SamplerState;
    const finite = (n: unknown) => typeof n === 'number' && Number.isFinite(n);
    if (typeof s.boot === 'string' && typeof s.machine === 'string' && finite(s.end) && finite(s.wall) && finite(s.busy)) {
      return { boot: s.boot, machine: s.machine, end: s.end, wall: s.wall, mono: finite(s.mono) ? s.mono : undefined, busy: s.busy };
    }
  } catch {
    // unreadable: start afresh below
  }
  return undefined;
}

/** The counters file of agents before the state moved into the spool: {bootId, machine, end, busySeconds}. */
function readLegacyState(dir: string, machine: string): SamplerState | undefined {
  try {
    const s = JSON.parse(readFileSync(join(dir, `counters-${encodeURIComponent(machine)}.json`), 'utf8'));
    if (typeof s.bootId === 'string' && Number.isFinite(s.end) && Number.isFinite(s.busySeconds)) {
      return { boot: s.bootId, machine: String(s.machine), end: s.end, wall: s.end, busy: s.busySeconds };
    }
  } catch {
    // none
  }
  return undefined;
}

export class HostSampler {
  private state!: SamplerState;
  private sequence = 0;
  private readonly agentStart: number;
  private readonly clock: Clock;
  /** A state to spool before the first sample (a fresh start), so a crash before it loses nothing. */
  initialState: string | undefined;
  /** Wall-clock steps seen since start. */
  clockSteps = 0;
  /** How far the stamps run ahead of the wall clock after a backward step (ms). */
  leadMs = 0;

  private constructor(private readonly options: HostSamplerOptions) {
    this.clock = options.clock ?? systemClock;
    this.agentStart = this.clock.wallMs();
  }

  static async create(options: HostSamplerOptions): Promise<HostSampler> {
    const sampler = new HostSampler(options);
    await sampler.resume();
    return sampler;
  }

  /** Where the next window starts. */
  get windowStart(): number {
    return this.state.end;
  }

  private async resume(): Promise<void> {
    const { counters, machine, logger } = this.options;
    const boot = counters.bootId();
    let saved = parseState(this.options.saved);
    if (!saved && this.options.legacyDir) {
      saved = readLegacyState(this.options.legacyDir, machine);
      if (saved) this.initialState = JSON.stringify(saved);
    }
    if (saved && saved.boot === boot && saved.machine === machine) {
      this.state = saved;
      logger.info('continuing from the last window of the previous run', { since: new Date(saved.end).toISOString() });
      return;
    }
    const wall = this.clock.wallMs();
    const cpu = await counters.cpu();
    // After a reboot the old counters cannot be subtracted; the new windows start no earlier than the
    // last one ended, so they never overlap it even when this boot's clock is behind.
    const end = Math.max(Math.round(wall), saved && saved.machine === machine ? saved.end : 0);
    this.state = { boot, machine, end, wall, mono: this.clock.monoMs(), busy: cpu.busySeconds };
    if (saved && saved.machine === machine) logger.info('machine rebooted since the last window: counting from now', { lastEnd: new Date(saved.end).toISOString() });
    this.initialState = JSON.stringify(this.state);
  }

  /** Closes the current window now. Spool the sample with its state, then commit(state). */
  async next(): Promise<TakenSample> {
    const [cpu, mem] = await Promise.all([this.options.counters.cpu(), this.options.counters.memory()]);
    const now = { wall: this.clock.wallMs(), mono: this.clock.monoMs() };
    const busy = Math.max(0, cpu.busySeconds - this.state.busy);
    const busySeconds = Math.round(busy * 1e6) / 1e6;
    const window = stampWindow(this.state, now, { busySeconds, cores: cpu.cores, usedBytes: mem.usedBytes, totalBytes: mem.totalBytes });
    this.noteClock(window.stepMs, window.leadMs);
    this.sequence++;
    const sample: Sample = {
      v: SAMPLE_VERSION,
      id: sampleId(this.options.machine, this.agentStart, this.sequence),
      machine: this.options.machine,
      labels: this.options.labels,
      start: window.start,
      end: window.end,
      cpu: { cores: cpu.cores, busySeconds },
      mem: { totalBytes: mem.totalBytes, usedBytes: window.usedBytes },
    };
    const state: SamplerState = { ...this.state, end: window.end, wall: now.wall, mono: now.mono, busy: cpu.busySeconds };
    return { sample, state: JSON.stringify(state) };
  }

  /** The sample is spooled (with its state): the next window starts at its end. */
  commit(state: string): void {
    this.state = parseState(state)!;
  }

  private noteClock(stepMs: number, leadMs: number): void {
    const { logger } = this.options;
    if (stepMs !== 0) {
      this.clockSteps++;
      logger.warn(`wall clock stepped ${stepMs > 0 ? 'forward' : 'back'} by ${(Math.abs(stepMs) / 1000).toFixed(1)} s`, {
        rule:
          stepMs > 0
            ? 'the window absorbs the step; its memory is reported over its real length'
            : 'windows stay contiguous and run ahead of the wall clock, each as short as its usage allows, until they are back on it',
      });
    }
    if (leadMs > 0 && this.leadMs === 0) logger.warn('windows run ahead of the wall clock', { aheadSeconds: leadMs / 1000 });
    if (leadMs === 0 && this.leadMs > 0) logger.info('windows are back on the wall clock');
    this.leadMs = leadMs;
  }
}
