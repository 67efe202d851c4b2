// The row format the worker hands to the ledger: a batch's accepted samples column by column, cheap to
// build and cheap to pass to another thread (a few arrays instead of thousands of objects).
//
// A sample's id is stored split in two, so the ledger's unique key is two small integers instead of a
// ~40-byte string: its run (everything before the last ":", interned once per agent start) and its
// sequence number (the decimal after it). The agent's ids, `machine:agentStart:seq`, always split; an
// id that does not end in a canonical decimal (no ":", "x:007", past 2^53) is a run of its own with
// sequence 0, so every id round-trips exactly (idOf).

/** One accepted sample, ready for the ledger: usage already in integer units. */
export interface LedgerSample {
  offset: number;
  id: string;
  machine: string;
  /** Canonical JSON of the labels (see canonicalLabels). */
  labels: string;
  start: number;
  end: number;
  cores: number;
  cpuBusyUs: number;
  memUsedBytes: number;
  memTotalBytes: number;
}

/** Numbers per row in SampleRows.values, in this order. */
export const ROW_FIELDS = 9;

/** The accepted samples of one batch, column by column. Every number is a safe integer. */
export interface SampleRows {
  /** The run of each sample's id: the id up to its last ":" (or the whole id: see `whole`). */
  runs: string[];
  machines: string[];
  /** Canonical JSON of each sample's labels (see canonicalLabels). */
  labels: string[];
  /** offset, start, end, cores, cpuBusyUs, memUsedBytes, memTotalBytes, seq, whole (1: the run is the whole id) per row. */
  values: number[];
}

/** Index of each field inside a row's slice of SampleRows.values. */
export const F = { offset: 0, start: 1, end: 2, cores: 3, cpuBusyUs: 4, memUsedBytes: 5, memTotalBytes: 6, seq: 7, whole: 8 } as const;

export const emptyRows = (): SampleRows => ({ runs: [], machines: [], labels: [], values: [] });

/** A sample id split into its run and sequence; `whole` when the id has no canonical sequence. */
export interface SplitId {
  run: string;
  seq: number;
  whole: 0 | 1;
}

/** Splits an id at its last ":" when what follows is a canonical decimal (no leading zero, a safe integer). */
export function splitId(id: string): SplitId {
  const colon = id.lastIndexOf(':');
  if (colon >= 0 && colon < id.length - 1) {
    const tail = id.slice(colon + 1);
    if (/^(0|[1-9][0-9]{0,15})$/.test(tail)) {
      const seq = Number(tail);
      if (Number.isSafeInteger(seq)) return { run: id.slice(0, colon), seq, whole: 0 };
    }
  }
  return { run: id, seq: 0, whole: 1 };
}

/**
 * splitId() on an id's UTF-8 bytes [from, to), for the worker's hot path: where its run ends, and its
 * sequence. ":" and digits are ASCII, so the split is the decoded id's (the prepare-layout property
 * test checks it against splitId).
 */
export function splitIdBytes(bytes: Uint8Array, from: number, to: number): { runEnd: number; seq: number; whole: 0 | 1 } {
  let colon = to - 1;
  while (colon >= from && bytes[colon] !== 58) colon--;
  const digits = to - colon - 1;
  // splitId's rule: a canonical decimal of 1 to 16 digits (no leading zero) that is a safe integer.
  if (colon >= from && digits >= 1 && digits <= 16 && (digits === 1 || bytes[colon + 1] !== 48)) {
    let seq = 0;
    let k = colon + 1;
    for (; k < to; k++) {
      const c = bytes[k]!;
      if (c < 48 || c > 57) break;
      seq = seq * 10 + (c - 48);
    }
    if (k === to && Number.isSafeInteger(seq)) return { runEnd: colon, seq, whole: 0 };
  }
  return { runEnd: to, seq: 0, whole: 1 };
}

/** The id back from its run and sequence. */
export const idOf = (run: string, seq: number, whole: number): string => (whole ? run : `${run}:${seq}`);

export function pushRow(rows: SampleRows, s: LedgerSample): void {
  const { run, seq, whole } = splitId(s.id);
  rows.runs.push(run);
  rows.machines.push(s.machine);
  rows.labels.push(s.labels);
  rows.values.push(s.offset, s.start, s.end, s.cores, s.cpuBusyUs, s.memUsedBytes, s.memTotalBytes, seq, whole);
}

/** Row i as an object (tests, tools). */
export function rowAt(rows: SampleRows, i: number): LedgerSample {
  const v = rows.values;
  const b = i * ROW_FIELDS;
  return {
    id: idOf(rows.runs[i]!, v[b + 7]!, v[b + 8]!),
    machine: rows.machines[i]!,
    labels: rows.labels[i]!,
    offset: v[b]!,
    start: v[b + 1]!,
    end: v[b + 2]!,
    cores: v[b + 3]!,
    cpuBusyUs: v[b + 4]!,
    memUsedBytes: v[b + 5]!,
    memTotalBytes: v[b + 6]!,
  };
}

/**
 * SampleRows as they cross to another thread: the numbers in one Float64Array (transferred, not
 * copied) and each string column as indexes into the batch's distinct strings (a machine's run and
 * labels repeat on every row of it). Cloning a plain array of ~270,000 numbers and ~90,000 strings per
 * batch cost both threads about a tenth of the worker's time.
 */
export interface PackedRows {
  values: Float64Array;
  strings: string[];
  runs: Uint32Array;
  machines: Uint32Array;
  labels: Uint32Array;
}

export function packRows(rows: SampleRows): PackedRows {
  const index = new Map<string, number>();
  const strings: string[] = [];
  const column = (values: string[]) => {
    const out = new Uint32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const s = values[i]!;
      let k = index.get(s);
      if (k === undefined) {
        k = strings.length;
        strings.push(s);
        index.set(s, k);
      }
      out[i] = k;
    }
    return out;
  };
  return { values: new Float64Array(rows.values), strings, runs: column(rows.runs), machines: column(rows.machines), labels: column(rows.labels) };
}

export function unpackRows(packed: PackedRows): SampleRows {
  const { strings } = packed;
  const column = (indexes: Uint32Array) => {
    const out = new Array<string>(indexes.length);
    for (let i = 0; i < indexes.length; i++) out[i] = strings[indexes[i]!]!;
    return out;
  };
  // (A loop: Array.from goes through the iterator, ten times slower.)
  const values = new Array<number>(packed.values.length);
  for (let i = 0; i < values.length; i++) values[i] = packed.values[i]!;
  return { runs: column(packed.runs), machines: column(packed.machines), labels: column(packed.labels), values };
}

/** One message that was not valid Sample v1 (already sent to the DLQ). */
export interface LedgerReject {
  offset: number;
  code: string;
  reason: string;
}

/** Labels as JSON with sorted keys, so equal label maps intern to the same label set. */
export function canonicalLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '{}';
  keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += `${i ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(labels[k])}`;
  }
  return `${out}}`;
}
