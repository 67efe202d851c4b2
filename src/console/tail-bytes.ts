// The agents' Sample v1 layout read from a message's bytes, without making a string of it (see
// tail-decode.ts, which uses it first): only plain ASCII strings without escapes, integers of up to
// 15 digits (exact in a double, as Number() reads them) and JSON numbers. Anything else is null:
// "ask the string reader", never a verdict on the message.
import { MAX_MACHINE_ID_LENGTH } from '../schema/sample.js';

/** The numbers of a sample and where its labels are in the bytes; its machine is the message key. */
export interface AgentBytes {
  labelsStart: number;
  labelsEnd: number;
  start: number;
  end: number;
  cores: number;
  busySeconds: number;
  totalBytes: number;
  usedBytes: number;
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const ID_AT = ascii('{"v":1,"id":"');
const MACHINE_AT = ascii('","machine":"');
const LABELS_AT = ascii('","labels":');
const START_AT = ascii(',"start":');
const END_AT = ascii(',"end":');
const CORES_AT = ascii(',"cpu":{"cores":');
const BUSY_AT = ascii(',"busySeconds":');
const TOTAL_AT = ascii('},"mem":{"totalBytes":');
const USED_AT = ascii(',"usedBytes":');
const CLOSE_AT = ascii('}}');
const QUOTE = 34;
const BACKSLASH = 92;

/**
 * The agents' layout read from bytes: each step either moves on or gives up (false, NaN, -1), and
 * giving up only means "ask the string reader".
 */
class ByteLayout {
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

  /** The end (its closing quote) of a string of printable ASCII but quotes and backslashes; -1 otherwise. */
  plainString(): number {
    const { b } = this;
    for (let i = this.i; i < b.length; i++) {
      const c = b[i]!;
      if (c === QUOTE) return i;
      if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
    }
    return -1;
  }

  /** 1 to 15 plain digits, no leading zero: exact in a double, as Number() reads them. NaN otherwise. */
  integer(): number {
    const { b } = this;
    const start = this.i;
    let i = start;
    let value = 0;
    while (i < b.length) {
      const c = b[i]!;
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    if (i === start || i - start > 15 || (b[start] === 48 && i - start > 1)) return NaN;
    this.i = i;
    return value;
  }

  /** A JSON number (NUMBER's grammar), read by Number() as the string reader does; NaN otherwise. */
  number(): number {
    const { b } = this;
    const start = this.i;
    let i = start;
    const digits = () => {
      const from = i;
      while (i < b.length && b[i]! >= 48 && b[i]! <= 57) i++;
      return i - from;
    };
    if (b[i] === 45) i++; // -
    if (b[i] === 48) i++;
    else if (digits() === 0) return NaN;
    if (b[i] === 46) {
      i++;
      if (digits() === 0) return NaN;
    }
    if (b[i] === 101 || b[i] === 69) {
      i++;
      if (b[i] === 43 || b[i] === 45) i++;
      if (digits() === 0) return NaN;
    }
    this.i = i;
    return Number(b.toString('latin1', start, i));
  }
}

/** The fields of a message in the agents' layout whose machine is `key`, or null (not plainly so). */
export function readAgentBytes(value: Buffer, key: Buffer): AgentBytes | null {
  const r = new ByteLayout(value);
  if (!r.literal(ID_AT)) return null;
  const idEnd = r.plainString();
  if (idEnd <= r.i) return null;
  r.i = idEnd;
  if (!r.literal(MACHINE_AT)) return null;
  const machineEnd = r.plainString();
  const machineLength = machineEnd - r.i;
  if (machineLength <= 0 || machineLength > MAX_MACHINE_ID_LENGTH || machineLength !== key.length) return null;
  for (let k = 0; k < machineLength; k++) if (value[r.i + k] !== key[k]) return null;
  r.i = machineEnd;
  if (!r.literal(LABELS_AT)) return null;
  // Labels: {} or {"k":"v",...} of plain strings.
  const labelsStart = r.i;
  if (value[r.i] !== 123) return null; // {
  r.i++;
  if (value[r.i] !== 125) {
    for (;;) {
      if (value[r.i] !== QUOTE) return null;
      r.i++;
      const keyEnd = r.plainString();
      if (keyEnd < 0 || value[keyEnd + 1] !== 58 || value[keyEnd + 2] !== QUOTE) return null; // :"
      r.i = keyEnd + 3;
      const valueEnd = r.plainString();
      if (valueEnd < 0) return null;
      r.i = valueEnd + 1;
      const c = value[r.i];
      if (c === 125) break; // }
      if (c !== 44) return null; // ,
      r.i++;
    }
  }
  r.i++;
  const labelsEnd = r.i;
  if (!r.literal(START_AT)) return null;
  const start = r.integer();
  if (!r.literal(END_AT)) return null;
  const end = r.integer();
  if (!r.literal(CORES_AT)) return null;
  const cores = r.integer();
  if (!r.literal(BUSY_AT)) return null;
  const busySeconds = r.number();
  if (!r.literal(TOTAL_AT)) return null;
  const totalBytes = r.integer();
  if (!r.literal(USED_AT)) return null;
  const usedBytes = r.integer();
  if (!r.literal(CLOSE_AT) || r.i !== value.length) return null;
  return { labelsStart, labelsEnd, start, end, cores, busySeconds, totalBytes, usedBytes };
}
