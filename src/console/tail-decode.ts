// Reading the live tail's messages cheaply. At 10,000 machines the console reads 2,000 samples a
// second, and parsing each with JSON.parse and the full validator took about 1% of a core, a third of
// the console's budget. Agents write Sample v1 with JSON.stringify, always in one layout:
//   {"v":1,"id":"…","machine":"…","labels":{…},"start":N,"end":N,"cpu":{"cores":N,"busySeconds":N},"mem":{"totalBytes":N,"usedBytes":N}}
// A message in exactly that layout is read field by field without building objects (its labels are
// parsed only when they differ from the machine's last ones) and checked by the same rules as
// checkSample(); anything else (other key orders, spaces, escapes, a rule broken) goes through
// checkSample() itself. Either way the answer is checkSample's: the same samples accepted, with the
// same values (test/unit/console/tail-decode.test.ts checks that on generated and mutated messages).
import { checkSample, MAX_CORES, MAX_FUTURE_MS, MAX_MACHINE_ID_LENGTH, MAX_TOTAL_BYTES, type ValidationLimits } from '../schema/sample.js';

/** What the tail keeps of a sample: no id, nested objects flattened. */
export interface TailSample {
  machine: string;
  labels: Record<string, string>;
  start: number;
  end: number;
  cores: number;
  busySeconds: number;
  totalBytes: number;
  usedBytes: number;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** The inside of a JSON string: no raw control characters, only JSON's escapes. */
const STRING_BODY = /^(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*$/;

/** The index of the quote that ends the JSON string whose content starts at `from`, or -1. */
function stringEnd(text: string, from: number): number {
  let i = from;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k >= from && text.charCodeAt(k) === 92; k--) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

/** Reads the agents' layout; null when the message is in any other shape (checkSample decides then). */
class Layout {
  i = 0;
  constructor(readonly text: string) {}

  literal(expected: string): boolean {
    if (!this.text.startsWith(expected, this.i)) return false;
    this.i += expected.length;
    return true;
  }

  /** A non-negative integer written in plain digits; NaN otherwise. */
  integer(): number {
    const { text } = this;
    const start = this.i;
    let i = start;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      i++;
    }
    if (i === start || i - start > 16 || (text.charCodeAt(start) === 48 && i - start > 1)) return NaN;
    this.i = i;
    return Number(text.slice(start, i));
  }

  number(): number {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.text);
    if (!m) return NaN;
    this.i += m[0].length;
    return Number(m[0]);
  }

  /** A flat object of string values, as written; the raw text, or null. */
  labels(): string | null {
    const { text } = this;
    const start = this.i;
    if (text.charCodeAt(start) !== 123) return null; // {
    let i = start + 1;
    if (text.charCodeAt(i) === 125) {
      this.i = i + 1;
      return '{}';
    }
    for (;;) {
      if (text.charCodeAt(i) !== 34) return null;
      const keyEnd = stringEnd(text, i + 1);
      if (keyEnd < 0 || !text.startsWith(':"', keyEnd + 1)) return null;
      const valueEnd = stringEnd(text, keyEnd + 3);
      if (valueEnd < 0) return null;
      i = valueEnd + 1;
      const c = text.charCodeAt(i);
      if (c === 125) break; // }
      if (c !== 44) return null; // ,
      i++;
    }
    this.i = i + 1;
    return text.slice(start, i + 1);
  }
}

export class TailDecoder {
  /** Each machine's last labels, raw and parsed: the same text is never parsed twice in a row. */
  private readonly labelsOf = new Map<string, { raw: string; labels: Record<string, string> }>();
  /** Messages read in the agents' layout, and through checkSample (for the tests and the curious). */
  fast = 0;
  slow = 0;

  /** The sample in a message, or null when checkSample() would reject it. */
  read(value: Buffer | null | undefined, key: Buffer | null | undefined, limits: ValidationLimits): TailSample | null {
    if (!value || value.length === 0) return null;
    const text = value.toString('utf8');
    const keyText = key ? key.toString('utf8') : null;
    return this.readLayout(text, keyText, limits) ?? this.readChecked(text, keyText, limits);
  }

  private readLayout(text: string, key: string | null, limits: ValidationLimits): TailSample | null {
    const r = new Layout(text);
    if (!r.literal('{"v":1,"id":"')) return null;
    const idEnd = stringEnd(text, r.i);
    // (An empty id is for checkSample to refuse.)
    if (idEnd <= r.i || !STRING_BODY.test(text.slice(r.i, idEnd))) return null;
    r.i = idEnd;
    if (!r.literal('","machine":"')) return null;
    const machineEnd = text.indexOf('"', r.i);
    if (machineEnd < 0) return null;
    const machine = text.slice(r.i, machineEnd);
    if (machine !== key || machine.length === 0 || machine.length > MAX_MACHINE_ID_LENGTH || !STRING_BODY.test(machine) || machine.includes('\\')) return null;
    r.i = machineEnd;
    if (!r.literal('","labels":')) return null;
    const labelsRaw = r.labels();
    if (labelsRaw === null || !r.literal(',"start":')) return null;
    const start = r.integer();
    if (!r.literal(',"end":')) return null;
    const end = r.integer();
    if (!r.literal(',"cpu":{"cores":')) return null;
    const cores = r.integer();
    if (!r.literal(',"busySeconds":')) return null;
    const busySeconds = r.number();
    if (!r.literal('},"mem":{"totalBytes":')) return null;
    const totalBytes = r.integer();
    if (!r.literal(',"usedBytes":')) return null;
    const usedBytes = r.integer();
    if (!r.literal('}}') || r.i !== text.length) return null;
    // checkSample's rules, on the numbers read (a broken one: checkSample says which).
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return null;
    if (limits.now !== undefined && (end > limits.now + MAX_FUTURE_MS || end < limits.now - limits.lateLimitMs)) return null;
    if (end - start > limits.lateLimitMs) return null;
    if (!Number.isInteger(cores) || cores < 1 || cores > MAX_CORES) return null;
    if (!Number.isFinite(busySeconds) || busySeconds < 0 || busySeconds > cores * ((end - start) / 1000) * 1.0001 + 1e-9) return null;
    if (!Number.isSafeInteger(totalBytes) || !Number.isSafeInteger(usedBytes) || usedBytes > totalBytes || totalBytes > MAX_TOTAL_BYTES) return null;
    let known = this.labelsOf.get(machine);
    if (!known || known.raw !== labelsRaw) {
      let labels: Record<string, string>;
      try {
        labels = JSON.parse(labelsRaw) as Record<string, string>;
      } catch {
        return null; // a control character or a bad escape in a label: not JSON
      }
      known = { raw: labelsRaw, labels };
      this.labelsOf.set(machine, known);
    }
    this.fast++;
    return { machine, labels: known.labels, start, end, cores, busySeconds, totalBytes, usedBytes };
  }

  private readChecked(text: string, key: string | null, limits: ValidationLimits): TailSample | null {
    this.slow++;
    const checked = checkSample(text, key, limits);
    if (!checked.ok) return null;
    const s = checked.sample;
    return { machine: s.machine, labels: s.labels, start: s.start, end: s.end, cores: s.cpu.cores, busySeconds: s.cpu.busySeconds, totalBytes: s.mem.totalBytes, usedBytes: s.mem.usedBytes };
  }

  /** Forgets machines' labels (when the tail starts over). */
  clear(): void {
    this.labelsOf.clear();
  }
}
