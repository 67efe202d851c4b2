// The row format the worker hands to the ledger: a batch's accepted samples column by column, cheap to
// build and cheap to pass to another thread (a few arrays instead of thousands of objects).

/** One accepted sample, ready for the ledger: usage already in integer units, charge already rated. */
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
  cpuMicros: number;
  memMicros: number;
}

/** Numbers per row in SampleRows.values, in this order. */
export const ROW_FIELDS = 9;

/** The accepted samples of one batch, column by column. Every number is a safe integer. */
export interface SampleRows {
  ids: string[];
  machines: string[];
  /** Canonical JSON of each sample's labels (see canonicalLabels). */
  labels: string[];
  /** offset, start, end, cores, cpuBusyUs, memUsedBytes, memTotalBytes, cpuMicros, memMicros per row. */
  values: number[];
}

/** Index of each field inside a row's slice of SampleRows.values. */
export const F = { offset: 0, start: 1, end: 2, cores: 3, cpuBusyUs: 4, memUsedBytes: 5, memTotalBytes: 6, cpuMicros: 7, memMicros: 8 } as const;

export const emptyRows = (): SampleRows => ({ ids: [], machines: [], labels: [], values: [] });

export function pushRow(rows: SampleRows, s: LedgerSample): void {
  rows.ids.push(s.id);
  rows.machines.push(s.machine);
  rows.labels.push(s.labels);
  rows.values.push(s.offset, s.start, s.end, s.cores, s.cpuBusyUs, s.memUsedBytes, s.memTotalBytes, s.cpuMicros, s.memMicros);
}

/** Row i as an object (tests, tools). */
export function rowAt(rows: SampleRows, i: number): LedgerSample {
  const v = rows.values;
  const b = i * ROW_FIELDS;
  return {
    id: rows.ids[i]!,
    machine: rows.machines[i]!,
    labels: rows.labels[i]!,
    offset: v[b]!,
    start: v[b + 1]!,
    end: v[b + 2]!,
    cores: v[b + 3]!,
    cpuBusyUs: v[b + 4]!,
    memUsedBytes: v[b + 5]!,
    memTotalBytes: v[b + 6]!,
    cpuMicros: v[b + 7]!,
    memMicros: v[b + 8]!,
  };
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
