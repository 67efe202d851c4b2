// Reading the live tail's messages cheaply. At 10,000 machines the console reads 2,000 samples a
// second, and parsing each with JSON.parse and the full validator took about 1% of a core, a third of
// the console's budget. Agents write Sample v1 with JSON.stringify, always in one layout:
//   {"v":1,"id":"…","machine":"…","labels":{…},"start":N,"end":N,"cpu":{"cores":N,"busySeconds":N},"mem":{"totalBytes":N,"usedBytes":N}}
// A message in exactly that layout is read field by field without building objects (its labels are
// parsed only when they differ from the machine's last ones) and checked by the same rules as
// checkSample(); anything else (other key orders, spaces, escapes, a rule broken) goes through
// checkSample() itself. Either way the answer is checkSample's: the same samples accepted, with the
// same values (test/unit/console/tail-decode.test.ts checks that on generated and mutated messages).
//
// Before either, the common case is read from the message's bytes (tail-bytes.ts), without a string:
// plain ASCII strings (no escapes), integers of up to 15 digits, and labels byte-equal to the
// machine's last ones. Anything else there (a byte it is not sure of) goes on to the string reader,
// so the bytes reader only ever answers with a sample the string reader would give. At 10,000
// machines (2,000 samples a second) the string reader was the console's largest item of CPU.
import { checkSample, MAX_CORES, MAX_FUTURE_MS, MAX_MACHINE_ID_LENGTH, MAX_TOTAL_BYTES, type ValidationLimits } from '../schema/sample.js';
import { readAgentBytes } from './tail-bytes.js';

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

/** checkSample's rules on a sample's numbers, as read by either reader. */
function withinRules(start: number, end: number, cores: number, busySeconds: number, totalBytes: number, usedBytes: number, limits: ValidationLimits): boolean {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end <= start) return false;
  if (limits.now !== undefined && (end > limits.now + MAX_FUTURE_MS || end < limits.now - limits.lateLimitMs)) return false;
  if (end - start > limits.lateLimitMs) return false;
  if (!Number.isInteger(cores) || cores < 1 || cores > MAX_CORES) return false;
  if (!Number.isFinite(busySeconds) || busySeconds < 0 || busySeconds > cores * ((end - start) / 1000) * 1.0001 + 1e-9) return false;
  return Number.isSafeInteger(totalBytes) && Number.isSafeInteger(usedBytes) && usedBytes <= totalBytes && totalBytes <= MAX_TOTAL_BYTES;
}

export class TailDecoder {
  /** Each machine's last labels, raw (text, and bytes when read from bytes) and parsed: the same labels are never parsed twice in a row. */
  private readonly labelsOf = new Map<string, { raw: string; bytes?: Buffer; labels: Record<string, string> }>();
  /** Messages read in the agents' layout, and through checkSample (for the tests and the curious). */
  fast = 0;
  slow = 0;

  /** The sample in a message, or null when checkSample() would reject it. */
  read(value: Buffer | null | undefined, key: Buffer | null | undefined, limits: ValidationLimits): TailSample | null {
    if (!value || value.length === 0) return null;
    if (key) {
      const sample = this.readBytes(value, key, limits);
      if (sample) return sample;
    }
    const text = value.toString('utf8');
    const keyText = key ? key.toString('utf8') : null;
    return this.readLayout(text, keyText, limits) ?? this.readChecked(text, keyText, limits);
  }

  /** The sample, when the bytes are plainly the agents' layout and a valid sample; else null (ask the string reader). */
  private readBytes(value: Buffer, key: Buffer, limits: ValidationLimits): TailSample | null {
    const read = readAgentBytes(value, key);
    if (!read) return null;
    const { labelsStart, labelsEnd, start, end, cores, busySeconds, totalBytes, usedBytes } = read;
    // A broken rule: the string reader and checkSample say which.
    if (!withinRules(start, end, cores, busySeconds, totalBytes, usedBytes, limits)) return null;
    const machine = key.toString('latin1');
    let known = this.labelsOf.get(machine);
    const labelsLength = labelsEnd - labelsStart;
    if (!known?.bytes || known.bytes.length !== labelsLength || value.compare(known.bytes, 0, labelsLength, labelsStart, labelsEnd) !== 0) {
      // Plain ASCII strings without escapes: always JSON, the same text the string reader would see.
      const raw = value.toString('latin1', labelsStart, labelsEnd);
      const labels = known?.raw === raw ? known.labels : (JSON.parse(raw) as Record<string, string>);
      // A copy of the bytes: the fetch's whole buffer is not kept alive by them.
      known = { raw, bytes: Buffer.from(value.subarray(labelsStart, labelsEnd)), labels };
      this.labelsOf.set(machine, known);
    }
    this.fast++;
    return { machine, labels: known.labels, start, end, cores, busySeconds, totalBytes, usedBytes };
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
    // A broken rule: checkSample says which.
    if (!withinRules(start, end, cores, busySeconds, totalBytes, usedBytes, limits)) return null;
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
