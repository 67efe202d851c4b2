// `meter agent --simulate N`: N virtual machines with varied, realistic load, publishing the same
// Sample v1 schema as a real host. Profiles and sizes are seeded by machine index, so a fleet looks
// the same from run to run; only the moment-to-moment noise differs.
import { SAMPLE_VERSION, sampleId, type Sample } from '../schema/sample.js';

type Profile = 'idle' | 'steady' | 'busy' | 'bursty' | 'diurnal';

interface VirtualMachine {
  machine: string;
  labels: Record<string, string>;
  cores: number;
  totalBytes: number;
  profile: Profile;
  /** Current memory use as a fraction of total; wanders slowly. */
  memFraction: number;
  /** Windows left in the current burst (bursty profile). */
  burstLeft: number;
  lastEnd: number;
  sequence: number;
}

const ROLES = ['web', 'api', 'db', 'cache', 'batch', 'ml'] as const;
const TEAMS = ['search', 'checkout', 'data', 'platform', 'ml'] as const;
const ENVS = ['prod', 'prod', 'staging', 'dev'] as const;
const CORES = [2, 4, 8, 16, 32, 64] as const;
const GIB = 2 ** 30;
const PROFILES: Profile[] = ['idle', 'steady', 'busy', 'bursty', 'diurnal'];

/** mulberry32: small, fast, good enough for load shapes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(items: readonly T[], r: number): T {
  return items[Math.floor(r * items.length) % items.length]!;
}

export interface FleetSimulatorOptions {
  count: number;
  /** Prefix of machine names, default "sim". */
  prefix?: string;
  start: number;
  /** Extra labels added to every virtual machine (e.g. from --label). */
  labels?: Record<string, string>;
  random?: () => number;
}

export class FleetSimulator {
  readonly machines: VirtualMachine[];
  private readonly agentStart: number;
  private readonly noise: () => number;

  constructor(options: FleetSimulatorOptions) {
    this.agentStart = options.start;
    this.noise = options.random ?? Math.random;
    const prefix = options.prefix ?? 'sim';
    const width = String(options.count).length;
    this.machines = Array.from({ length: options.count }, (_, i) => {
      const r = seededRandom(i * 7919 + 17);
      const role = pick(ROLES, r());
      const cores = role === 'ml' || role === 'db' ? pick(CORES.slice(2), r()) : pick(CORES.slice(0, 4), r());
      const memPerCore = pick([2, 4, 4, 8], r());
      return {
        machine: `${prefix}-${role}-${String(i + 1).padStart(width, '0')}`,
        labels: { team: pick(TEAMS, r()), env: pick(ENVS, r()), role, simulated: 'true', ...options.labels },
        cores,
        totalBytes: cores * memPerCore * GIB,
        profile: PROFILES[i % PROFILES.length]!,
        memFraction: 0.2 + r() * 0.5,
        burstLeft: 0,
        lastEnd: options.start,
        sequence: 0,
      };
    });
  }

  private utilisation(vm: VirtualMachine, at: number): number {
    const jitter = (this.noise() - 0.5) * 0.1;
    switch (vm.profile) {
      case 'idle':
        return 0.01 + this.noise() * 0.04;
      case 'steady':
        return 0.35 + jitter;
      case 'busy':
        return 0.8 + jitter;
      case 'bursty':
        if (vm.burstLeft > 0) {
          vm.burstLeft--;
          return 0.85 + jitter;
        }
        if (this.noise() < 0.08) vm.burstLeft = 1 + Math.floor(this.noise() * 5);
        return 0.05 + this.noise() * 0.05;
      case 'diurnal': {
        const day = (at % 86_400_000) / 86_400_000;
        return 0.4 + 0.3 * Math.sin(2 * Math.PI * (day - 0.25)) + jitter;
      }
    }
  }

  /**
   * Closes the windows of one part of the fleet at `now` and returns one sample per machine in it:
   * the machines whose index is `slot` modulo `slots` (all of them by default). The agent takes the
   * parts in turn over an interval, so the fleet's samples arrive spread out, as real agents' do
   * (each counts its interval from its own start), rather than all at one instant.
   */
  next(now: number, slot = 0, slots = 1): Sample[] {
    const samples: Sample[] = [];
    for (let i = slot; i < this.machines.length; i += slots) {
      const vm = this.machines[i]!;
      const end = Math.max(now, vm.lastEnd + 1);
      const windowSeconds = (end - vm.lastEnd) / 1000;
      const util = Math.min(1, Math.max(0, this.utilisation(vm, end)));
      vm.memFraction = Math.min(0.95, Math.max(0.05, vm.memFraction + (this.noise() - 0.5) * 0.02));
      vm.sequence++;
      samples.push({
        v: SAMPLE_VERSION,
        id: sampleId(vm.machine, this.agentStart, vm.sequence),
        machine: vm.machine,
        labels: vm.labels,
        start: vm.lastEnd,
        end,
        cpu: { cores: vm.cores, busySeconds: Math.round(util * vm.cores * windowSeconds * 1e6) / 1e6 },
        mem: { totalBytes: vm.totalBytes, usedBytes: Math.round(vm.memFraction * vm.totalBytes) },
      });
      vm.lastEnd = end;
    }
    return samples;
  }
}
