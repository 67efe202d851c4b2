// Where an interval's samples come from (this host, or a simulated fleet), and the one step that
// takes them and spools them. The host's sample and the sampler state after it go to disk in the same
// write, so there is no instant at which a kill leaves one without the other.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import type { Clock } from './clock.js';
import { FleetSimulator } from './fleet-simulator.js';
import type { HostCounters } from './host-counters.js';
import { HostSampler } from './host-sampler.js';
import type { Spool, SpoolRecord } from './spool.js';

export interface Taken {
  records: SpoolRecord[];
  /** State to spool with the last record. */
  state?: string;
}

export interface SampleSource {
  take(): Promise<Taken>;
  /** What take() returned is on disk. */
  spooled(taken: Taken): void;
  /** Wall-clock steps seen (host only). */
  readonly clockSteps: number;
  /** How many times an interval take() is called: each call closes the windows of its share of machines. */
  readonly takesPerInterval: number;
}

/** The shortest time between two takes of a spread simulated fleet. */
const MIN_SPREAD_STEP_MS = 250;

/**
 * In how many parts a simulated fleet takes its samples over an interval: a single part when the
 * machines sample in step, else one part every 250 ms (at most 20 parts, at least one machine each).
 */
export function fleetParts(count: number, intervalMs: number, spread: boolean): number {
  if (!spread) return 1;
  return Math.max(1, Math.min(20, count, Math.floor(intervalMs / MIN_SPREAD_STEP_MS)));
}

export async function hostSource(
  spool: Spool,
  options: { machine: string; labels: Record<string, string>; counters: HostCounters; logger: Logger; clock?: Clock },
): Promise<SampleSource> {
  const sampler = await HostSampler.create({ ...options, saved: spool.lastState, legacyDir: spool.dir });
  if (sampler.initialState) {
    // Where the first window starts, on disk before it is sampled: a kill before then loses nothing.
    spool.append([], sampler.initialState);
    rmSync(join(spool.dir, `counters-${encodeURIComponent(options.machine)}.json`), { force: true });
  }
  return {
    take: async () => {
      const { sample, state } = await sampler.next();
      return { records: [{ key: sample.machine, value: JSON.stringify(sample) }], state };
    },
    spooled: (taken) => sampler.commit(taken.state!),
    get clockSteps() {
      return sampler.clockSteps;
    },
    takesPerInterval: 1,
  };
}

export function fleetSource(options: {
  count: number;
  labels: Record<string, string>;
  logger: Logger;
  clock: Clock;
  intervalMs: number;
  /**
   * Spread the machines' samples over the interval, as real agents' are (each counts from its own
   * start), rather than all at one instant (the default: as a fleet's do right after an outage).
   */
  spread?: boolean;
}): SampleSource {
  const fleet = new FleetSimulator({ count: options.count, start: options.clock.wallMs(), labels: options.labels });
  const parts = fleetParts(options.count, options.intervalMs, options.spread ?? false);
  let part = 0;
  options.logger.info('simulating a fleet', { machines: options.count, first: fleet.machines[0]?.machine, phases: parts > 1 ? `spread over ${parts} parts of the interval` : 'in step' });
  return {
    take: async () => {
      const samples = fleet.next(options.clock.wallMs(), part, parts);
      part = (part + 1) % parts;
      return { records: samples.map((s) => ({ key: s.machine, value: JSON.stringify(s) })) };
    },
    spooled: () => {},
    clockSteps: 0,
    takesPerInterval: parts,
  };
}

/** Takes one interval's samples (or one part's, see takesPerInterval) and spools them; returns how many. */
export async function sampleIntoSpool(source: SampleSource, spool: Spool): Promise<number> {
  const taken = await source.take();
  spool.append(taken.records, taken.state);
  source.spooled(taken);
  return taken.records.length;
}
