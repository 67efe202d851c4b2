// Reading Sample v1 in the agents' own layout straight from the message bytes. Agents write every
// sample with JSON.stringify, so always as
//   {"v":1,"id":"…","machine":"…","labels":{…},"start":N,"end":N,"cpu":{"cores":N,"busySeconds":N},"mem":{"totalBytes":N,"usedBytes":N}}
// A message in exactly that layout is scanned byte by byte, without decoding it to a string or
// building objects, and checked by checkSample()'s rules; scanAgentLayout() answers false for
// anything else (other key orders, spaces, escapes in the id or machine, a rule broken), and the
// caller asks checkSample() then, which also names the rule. JSON.parse and the validator were most
// of the worker's main-thread time (it reads every message the fleet sends), and the console's live
// tail reads the same way. A machine's labels are parsed only when their bytes change
// (LabelsByMachine): machines rarely change labels. test/unit/worker/prepare-layout.test.ts and
// test/unit/console/tail-decode.test.ts check on generated and mutated messages that both accept
// exactly what checkSample() accepts, with the same values.
import { MAX_MACHINE_ID_LENGTH, usageRuleBroken, windowRuleBroken, type SampleUsage, type ValidationLimits } from './sample.js';

/** Where a message's fields are, and its numbers; filled by scanAgentLayout() (one object, reused). */
export interface AgentLayoutScan extends SampleUsage {
  /** Byte ranges [start, end) of the id's and the labels' JSON text (the labels with their braces). */
  idStart: number;
  idEnd: number;
  labelsStart: number;
  labelsEnd: number;
}

export const newLayoutScan = (): AgentLayoutScan => ({ idStart: 0, idEnd: 0, labelsStart: 0, labelsEnd: 0, start: 0, end: 0, cores: 0, busySeconds: 0, totalBytes: 0, usedBytes: 0 });

const QUOTE = 34;
const BACKSLASH = 92;
/** 10^0 .. 10^15, each an exact double: the divisors of number()'s fast path. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, n) => 10 ** n);
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const HEAD = bytes('{"v":1,"id":"');
const MACHINE = bytes('","machine":"');
const LABELS = bytes('","labels":');
const START = bytes(',"start":');
const END = bytes(',"end":');
const CORES = bytes(',"cpu":{"cores":');
const BUSY = bytes(',"busySeconds":');
const TOTAL = bytes('},"mem":{"totalBytes":');
const USED = bytes(',"usedBytes":');
const TAIL = bytes('}}');

/** Byte-level cursor over one message. */
class Cursor {
  i = 0;
  constructor(readonly b: Buffer) {}

  literal(expected: Uint8Array): boolean {
    const { b } = this;
    const at = this.i;
    if (at + expected.length > b.length) return false;
    for (let k = 0; k < expected.length; k++) if (b[at + k] !== expected[k]) return false;
    this.i = at + expected.length;
    return true;
  }

  /** Moves to the quote ending a string with nothing to decode (no escape, no control byte); -1 otherwise. */
  plainStringEnd(): number {
    const { b } = this;
    for (let k = this.i; k < b.length; k++) {
      const c = b[k]!;
      if (c === QUOTE) return k;
      if (c < 32 || c === BACKSLASH) return -1;
    }
    return -1;
  }

  /** A non-negative integer in plain digits (at most 16, no leading zero); NaN otherwise. */
  integer(): number {
    const { b } = this;
    const from = this.i;
    let value = 0;
    let k = from;
    for (; k < b.length; k++) {
      const c = b[k]!;
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
    }
    const digits = k - from;
    if (digits === 0 || digits > 16 || (b[from] === 48 && digits > 1)) return NaN;
    this.i = k;
    // Past 2^53 the sum above may round: such a value is refused by the safe-integer checks anyway.
    return value;
  }

  /** A JSON number (its grammar checked here, its value as JSON.parse gives it); NaN otherwise. */
  number(): number {
    const { b } = this;
    const from = this.i;
    let k = from;
    const negative = b[k] === 45; // -
    if (negative) k++;
    const intStart = k;
    // The digits as one integer, while it stays exact (at most 15 digits: below 2^53).
    let digits = 0;
    for (; k < b.length && b[k]! >= 48 && b[k]! <= 57; k++) digits = digits * 10 + (b[k]! - 48);
    if (k === intStart || (b[intStart] === 48 && k - intStart > 1)) return NaN;
    let count = k - intStart;
    let fractionDigits = 0;
    if (b[k] === 46) {
      const fraction = ++k;
      for (; k < b.length && b[k]! >= 48 && b[k]! <= 57; k++) digits = digits * 10 + (b[k]! - 48);
      if (k === fraction) return NaN;
      fractionDigits = k - fraction;
      count += fractionDigits;
    }
    let exponent = false;
    if (b[k] === 101 || b[k] === 69) {
      exponent = true;
      k++;
      if (b[k] === 43 || b[k] === 45) k++;
      const exponentStart = k;
      while (k < b.length && b[k]! >= 48 && b[k]! <= 57) k++;
      if (k === exponentStart) return NaN;
    }
    this.i = k;
    // Both the digits (at most 15) and the power of ten (at most 10^15) are exact doubles, and one
    // division of exact doubles is correctly rounded: the same double JSON.parse gives (the "fast
    // path" of every correctly rounding strtod). Anything longer is left to Number(). Agents write
    // busy seconds with a few decimals: a string a message was a large part of reading one.
    if (!exponent && count <= 15) {
      const value = fractionDigits === 0 ? digits : digits / POWERS_OF_TEN[fractionDigits]!;
      return negative ? -value : value;
    }
    return Number(b.toString('latin1', from, k));
  }

  /** The end of a JSON string's content starting at `from` (its closing quote), escapes skipped; -1 otherwise. */
  private stringEnd(from: number): number {
    const { b } = this;
    for (let k = from; k < b.length; k++) {
      const c = b[k];
      if (c === QUOTE) return k;
      if (c === BACKSLASH) k++;
    }
    return -1;
  }

  /** A flat object of string values (escapes left for JSON.parse to check); moves past it, or false. */
  labels(): boolean {
    const { b } = this;
    if (b[this.i] !== 123) return false; // {
    let k = this.i + 1;
    if (b[k] === 125) {
      this.i = k + 1;
      return true;
    }
    for (;;) {
      if (b[k] !== QUOTE) return false;
      const keyEnd = this.stringEnd(k + 1);
      if (keyEnd < 0 || b[keyEnd + 1] !== 58 || b[keyEnd + 2] !== QUOTE) return false; // :"
      const valueEnd = this.stringEnd(keyEnd + 3);
      if (valueEnd < 0) return false;
      k = valueEnd + 1;
      if (b[k] === 125) break; // }
      if (b[k] !== 44) return false; // ,
      k++;
    }
    this.i = k + 1;
    return true;
  }
}

/**
 * Whether `value` holds a sample in the agents' layout that keeps checkSample()'s rules (its machine
 * the same bytes as `key`, window, limits, cores, busy time, memory); fills `out` when it does. False
 * leaves the message to checkSample(). The labels' text may still hold escapes JSON.parse refuses: the
 * caller parses it, and a failure there is for checkSample() too.
 */
export function scanAgentLayout(value: Buffer, key: Uint8Array | null, limits: ValidationLimits, out: AgentLayoutScan): boolean {
  // (Fields go into `out` as they are read: the caller reads it only when this answers true.)
  if (key === null || key.length === 0 || key.length > MAX_MACHINE_ID_LENGTH) return false;
  const r = new Cursor(value);
  if (!r.literal(HEAD)) return false;
  out.idStart = r.i;
  out.idEnd = r.plainStringEnd();
  // (An empty id is for checkSample to refuse.)
  if (out.idEnd <= out.idStart) return false;
  r.i = out.idEnd;
  if (!r.literal(MACHINE)) return false;
  // The machine must be the key's bytes (what UTF-8 decodes alike but differs here, checkSample judges).
  const machineEnd = r.plainStringEnd();
  if (machineEnd < 0 || !sameBytes(value, r.i, machineEnd, key)) return false;
  r.i = machineEnd;
  if (!r.literal(LABELS)) return false;
  out.labelsStart = r.i;
  if (!r.labels()) return false;
  out.labelsEnd = r.i;
  if (!r.literal(START)) return false;
  out.start = r.integer();
  if (!r.literal(END)) return false;
  out.end = r.integer();
  if (!r.literal(CORES)) return false;
  out.cores = r.integer();
  if (!r.literal(BUSY)) return false;
  out.busySeconds = r.number();
  if (!r.literal(TOTAL)) return false;
  out.totalBytes = r.integer();
  if (!r.literal(USED)) return false;
  out.usedBytes = r.integer();
  if (!r.literal(TAIL) || r.i !== value.length) return false;
  // checkSample's rules, on the numbers read (a broken one: checkSample says which).
  return windowRuleBroken(out.start, out.end, limits) === null && usageRuleBroken(out.cores, out.busySeconds, out.totalBytes, out.usedBytes, out.end - out.start) === null;
}

/** Whether bytes [from, to) of `value` are exactly `known`. */
export function sameBytes(value: Uint8Array, from: number, to: number, known: Uint8Array): boolean {
  if (to - from !== known.length) return false;
  for (let k = 0; k < known.length; k++) if (value[from + k] !== known[k]) return false;
  return true;
}

/**
 * Each machine's last labels, by their bytes: parsed (and converted, to canonical JSON for the
 * worker's rows, kept as an object for the console) only when they change.
 */
export class LabelsByMachine<T> {
  private readonly known = new Map<string, { bytes: Uint8Array; labels: T }>();

  constructor(
    private readonly convert: (labels: Record<string, string>) => T,
    private readonly limit = 100_000,
  ) {}

  /** The labels scanAgentLayout() found in `value`; undefined when they are not JSON (checkSample then refuses the message). */
  get(machine: string, value: Buffer, scan: AgentLayoutScan): T | undefined {
    let known = this.known.get(machine);
    if (!known || !sameBytes(value, scan.labelsStart, scan.labelsEnd, known.bytes)) {
      let labels: Record<string, string>;
      try {
        labels = JSON.parse(value.toString('utf8', scan.labelsStart, scan.labelsEnd)) as Record<string, string>;
      } catch {
        return undefined; // a control character or a bad escape in a label
      }
      // A copy of the bytes: the fetch's whole buffer is not kept alive by them.
      known = { bytes: Uint8Array.prototype.slice.call(value, scan.labelsStart, scan.labelsEnd), labels: this.convert(labels) };
      if (this.known.size >= this.limit) this.known.clear();
      this.known.set(machine, known);
    }
    return known.labels;
  }

  clear(): void {
    this.known.clear();
  }
}
