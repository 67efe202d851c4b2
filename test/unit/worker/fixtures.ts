// Sample builders and an independent cost calculation, shared by the ledger, billing and worker tests.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sample } from '../../../src/schema/sample.js';
import type { IncomingMessage } from '../../../src/worker/prepare.js';

export const GiB = 2 ** 30;

export function tempLedgerPath(name = 'ledger.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'meter-ledger-')), name);
}

export interface SampleSpec {
  machine?: string;
  seq?: number;
  agentStart?: number;
  start: number;
  windowMs?: number;
  cores?: number;
  busySeconds?: number;
  usedBytes?: number;
  totalBytes?: number;
  labels?: Record<string, string>;
}

export function makeSample(spec: SampleSpec): Sample {
  const machine = spec.machine ?? 'web-1';
  const windowMs = spec.windowMs ?? 5000;
  return {
    v: 1,
    id: `${machine}:${spec.agentStart ?? 1}:${spec.seq ?? spec.start}`,
    machine,
    labels: spec.labels ?? {},
    start: spec.start,
    end: spec.start + windowMs,
    cpu: { cores: spec.cores ?? 8, busySeconds: spec.busySeconds ?? 12.5 },
    mem: { totalBytes: spec.totalBytes ?? 32 * GiB, usedBytes: spec.usedBytes ?? 12 * GiB },
  };
}

/** The window end of a sample (or of a JSON string holding one), else undefined. */
function endOf(sample: Sample | string): number | undefined {
  if (typeof sample !== 'string') return sample.end;
  try {
    const parsed = JSON.parse(sample) as { end?: unknown };
    return typeof parsed.end === 'number' ? parsed.end : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Kafka message holding `sample`, keyed by its machine, with a timestamp: `timestamp` when given
 * (null: none), else the sample's window end (when it was produced, as an agent does).
 */
export function message(sample: Sample | string, offset: number, key?: string | null, timestamp?: number | null): IncomingMessage {
  const value = typeof sample === 'string' ? sample : JSON.stringify(sample);
  const k = key === undefined ? (typeof sample === 'string' ? null : sample.machine) : key;
  const ts = timestamp === undefined ? endOf(sample) : timestamp;
  return { offset: String(offset), key: k === null ? null : Buffer.from(k), value: Buffer.from(value), timestamp: ts === null || ts === undefined ? '-1' : String(ts) };
}

/**
 * The cost of samples at flat prices, computed independently of src/billing: from the raw sample
 * fields, with decimal prices given as integer micro-units per hour. Rounds half up once.
 */
export function expectedFlatCost(samples: Sample[], cpuMicrosPerCoreHour: bigint, memMicrosPerGiBHour: bigint): {
  cpu: bigint;
  mem: bigint;
  total: bigint;
} {
  // cpu: sum(busy us) x price / 3.6e9 us per core-hour
  let busyUs = 0n;
  let byteMs = 0n;
  for (const s of samples) {
    busyUs += BigInt(Math.round(s.cpu.busySeconds * 1e6));
    byteMs += BigInt(s.mem.usedBytes) * BigInt(s.end - s.start);
  }
  const round = (n: bigint, d: bigint) => (n * 2n + d) / (2n * d);
  const cpu = round(busyUs * cpuMicrosPerCoreHour, 3_600_000_000n);
  const mem = round(byteMs * memMicrosPerGiBHour, 3_600_000n * 1_073_741_824n);
  return { cpu, mem, total: cpu + mem };
}

/**
 * Checks an invoice of the fleet account at flat prices against the raw samples, independently of
 * src/billing: the total is the fleet's exact cost rounded once per resource (the account's pools),
 * and each line is its exact share within a micro-unit per resource (largest remainder).
 */
export function checkFlatInvoice(
  invoice: { total: string; lines: readonly { key: string; total: string }[] },
  samples: Sample[],
  cpuMicrosPerCoreHour: bigint,
  memMicrosPerGiBHour: bigint,
  keyOf: (s: Sample) => string = (s) => s.machine,
): void {
  const all = expectedFlatCost(samples, cpuMicrosPerCoreHour, memMicrosPerGiBHour);
  if (micros(invoice.total) !== all.total) throw new Error(`invoice total ${invoice.total} is not the fleet's exact cost ${all.total} micro-units`);
  for (const line of invoice.lines) {
    const own = expectedFlatCost(samples.filter((s) => keyOf(s) === line.key), cpuMicrosPerCoreHour, memMicrosPerGiBHour).total;
    const d = micros(line.total) - own;
    if (d < -2n || d > 2n) throw new Error(`line ${line.key}: ${line.total} is ${d} micro-units from its exact cost`);
  }
}

export const micros = (amount: string): bigint => {
  const [whole, fraction = ''] = amount.split('.');
  return BigInt(whole! + fraction.padEnd(6, '0').slice(0, 6));
};
