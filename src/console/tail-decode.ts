// Reading the live tail's messages cheaply. At 10,000 machines the console reads 2,000 samples a
// second; parsing each with JSON.parse and the full validator, then a string reader of the agents'
// layout, were the console's largest items of main-thread CPU. A message in the agents' layout is
// read from its bytes by the worker's reader (src/schema/sample-layout.ts, with checkSample's rules),
// and a machine's labels are parsed only when their bytes change; anything else goes through
// checkSample() itself. Either way the answer is checkSample's: the same samples accepted, with the
// same values (test/unit/console/tail-decode.test.ts checks that on generated and mutated messages).
import { checkSample, type SampleUsage, type ValidationLimits } from '../schema/sample.js';
import { LabelsByMachine, newLayoutScan, scanAgentLayout } from '../schema/sample-layout.js';

/** What the tail keeps of a sample: no id, nested objects flattened. */
export interface TailSample extends SampleUsage {
  machine: string;
  labels: Record<string, string>;
}

export const newTailSample = (): TailSample => ({ machine: '', labels: {}, start: 0, end: 0, cores: 0, busySeconds: 0, totalBytes: 0, usedBytes: 0 });

export class TailDecoder {
  /** Each machine's last labels: the same labels are never parsed twice in a row. */
  private readonly labelsOf = new LabelsByMachine((labels) => labels);
  private readonly scan = newLayoutScan();
  /** Messages read in the agents' layout, and through checkSample (for the tests and the curious). */
  fast = 0;
  slow = 0;

  /**
   * The sample in a message, or null when checkSample() would reject it. Given `into`, the sample is
   * written there (the live tail reuses one object for every message: 2,000 a second at 10,000
   * machines, and the tail copies what it keeps).
   */
  read(value: Buffer | null | undefined, key: Buffer | null | undefined, limits: ValidationLimits, into?: TailSample): TailSample | null {
    if (!value || value.length === 0) return null;
    if (key && scanAgentLayout(value, key, limits, this.scan)) {
      const sample = this.fromLayout(value, key.toString('utf8'), into ?? newTailSample());
      if (sample) return sample;
    }
    return this.readChecked(value, key ? key.toString('utf8') : null, limits);
  }

  /** The sample this.scan found; null when its labels are not JSON (checkSample then refuses the message). */
  private fromLayout(value: Buffer, machine: string, out: TailSample): TailSample | null {
    const labels = this.labelsOf.get(machine, value, this.scan);
    if (!labels) return null;
    this.fast++;
    const scan = this.scan;
    out.machine = machine;
    out.labels = labels;
    out.start = scan.start;
    out.end = scan.end;
    out.cores = scan.cores;
    out.busySeconds = scan.busySeconds;
    out.totalBytes = scan.totalBytes;
    out.usedBytes = scan.usedBytes;
    return out;
  }

  private readChecked(value: Buffer, key: string | null, limits: ValidationLimits): TailSample | null {
    this.slow++;
    const checked = checkSample(value, key, limits);
    if (!checked.ok) return null;
    const s = checked.sample;
    return { machine: s.machine, labels: s.labels, start: s.start, end: s.end, cores: s.cpu.cores, busySeconds: s.cpu.busySeconds, totalBytes: s.mem.totalBytes, usedBytes: s.mem.usedBytes };
  }

  /** Forgets machines' labels (when the tail starts over). */
  clear(): void {
    this.labelsOf.clear();
  }
}
