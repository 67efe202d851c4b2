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
  };
}

export function fleetSource(options: { count: number; labels: Record<string, string>; logger: Logger; clock: Clock }): SampleSource {
  const fleet = new FleetSimulator({ count: options.count, start: options.clock.wallMs(), labels: options.labels });
  options.logger.info('simulating a fleet', { machines: options.count, first: fleet.machines[0]?.machine });
  return {
    take: async () => ({ records: fleet.next(options.clock.wallMs()).map((s) => ({ key: s.machine, value: JSON.stringify(s) })) }),
    spooled: () => {},
    clockSteps: 0,
  };
}

/** Takes one interval's samples and spools them; returns how many. */
export async function sampleIntoSpool(source: SampleSource, spool: Spool): Promise<number> {
  const taken = await source.take();
  spool.append(taken.records, taken.state);
  source.spooled(taken);
  return taken.records.length;
}
