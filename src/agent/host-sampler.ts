// Turns the host's cumulative counters into Sample v1 windows that tile time: each window starts
// exactly where the previous one ended. The last counters are kept beside the spool, so a restart on
// the same boot continues from the last window's end and no usage goes unmetered.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SAMPLE_VERSION, sampleId, type Sample } from '../schema/sample.js';
import type { HostCounters } from './host-counters.js';
import type { Logger } from '../log/logger.js';
import { StateFile } from './state-file.js';

interface SamplerState {
  bootId: string;
  machine: string;
  /** End of the last window, epoch ms. */
  end: number;
  /** Cumulative busy seconds at `end`. */
  busySeconds: number;
}

export interface HostSamplerOptions {
  machine: string;
  labels: Record<string, string>;
  counters: HostCounters;
  /** Directory for the state file (the spool directory). */
  stateDir: string;
  logger: Logger;
  now?: () => number;
}

export class HostSampler {
  private state!: SamplerState;
  /** The state after the sample last taken, until commit() says it is spooled. */
  private pendingState: SamplerState | undefined;
  private sequence = 0;
  private readonly agentStart: number;
  private readonly stateFile: StateFile<SamplerState>;
  private readonly now: () => number;

  private constructor(private readonly options: HostSamplerOptions) {
    this.now = options.now ?? Date.now;
    this.agentStart = this.now();
    mkdirSync(options.stateDir, { recursive: true });
    // One state file per machine id, so two agents with different --machine may share a spool dir.
    this.stateFile = new StateFile(join(options.stateDir, `counters-${encodeURIComponent(options.machine)}.json`));
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
    const bootId = this.options.counters.bootId();
    const saved = this.readState();
    if (saved && saved.bootId === bootId && saved.machine === this.options.machine && saved.end <= this.now()) {
      this.state = saved;
      this.options.logger.info('continuing from the last window of the previous run', {
        since: new Date(saved.end).toISOString(),
      });
      return;
    }
    const cpu = await this.options.counters.cpu();
    this.state = { bootId, machine: this.options.machine, end: this.now(), busySeconds: cpu.busySeconds };
    this.writeState();
  }

  /** Closes the current window at now and returns its sample. Call commit() once it is spooled. */
  async next(): Promise<Sample> {
    const [cpu, mem] = await Promise.all([this.options.counters.cpu(), this.options.counters.memory()]);
    const end = Math.max(this.now(), this.state.end + 1);
    const windowSeconds = (end - this.state.end) / 1000;
    // Counters are read a few microseconds off the clock; clamp into the contract's bounds.
    const busy = Math.min(Math.max(0, cpu.busySeconds - this.state.busySeconds), cpu.cores * windowSeconds);
    this.sequence++;
    const sample: Sample = {
      v: SAMPLE_VERSION,
      id: sampleId(this.options.machine, this.agentStart, this.sequence),
      machine: this.options.machine,
      labels: this.options.labels,
      start: this.state.end,
      end,
      cpu: { cores: cpu.cores, busySeconds: Math.round(busy * 1e6) / 1e6 },
      mem: { totalBytes: mem.totalBytes, usedBytes: mem.usedBytes },
    };
    this.pendingState = { ...this.state, end, busySeconds: cpu.busySeconds };
    return sample;
  }

  /** Records that the last sample is safely spooled: the next window starts at its end. */
  commit(): void {
    if (!this.pendingState) return;
    this.state = this.pendingState;
    this.pendingState = undefined;
    this.writeState();
  }

  private readState(): SamplerState | undefined {
    const s = this.stateFile.read();
    return s && Number.isFinite(s.end) && Number.isFinite(s.busySeconds) ? s : undefined;
  }

  private writeState(): void {
    this.stateFile.write(this.state);
  }

  close(): void {
    this.stateFile.close();
  }
}
