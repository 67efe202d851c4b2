// Sample v1: the value of every message on the usage topic. Every mode imports this module, so the
// contract in DESIGN.md lives in exactly one place.

export const SAMPLE_VERSION = 1 as const;

export interface Sample {
  v: 1;
  id: string;
  machine: string;
  labels: Record<string, string>;
  start: number;
  end: number;
  cpu: { cores: number; busySeconds: number };
  mem: { totalBytes: number; usedBytes: number };
}

/** A sample's window and usage, flattened: what the worker's rows and the console's tail take of it. */
export interface SampleUsage {
  start: number;
  end: number;
  cores: number;
  busySeconds: number;
  totalBytes: number;
  usedBytes: number;
}

/** Deterministic per sample: a replayed or duplicated sample keeps its id, so it is billed once. */
export function sampleId(machine: string, agentStart: number, sequence: number): string {
  return `${machine}:${agentStart}:${sequence}`;
}

export const MAX_MACHINE_ID_LENGTH = 255;
export const MAX_CORES = 4096;
export const MAX_TOTAL_BYTES = 64 * 2 ** 40; // 64 TiB
export const MAX_FUTURE_MS = 5 * 60 * 1000;
export const DEFAULT_LATE_LIMIT_MS = 7 * 24 * 3600 * 1000;

export interface ValidationLimits {
  /**
   * A clock to judge future/late windows against (the console's tail, the agent's own checks). The
   * worker leaves it out: it judges event time by each message's Kafka timestamp instead
   * (src/billing/acceptance.ts), so the same log gives the same ledger on any day.
   */
  now?: number;
  /** Samples whose window ended longer ago than this are rejected as too late; no window may be longer. */
  lateLimitMs: number;
}

/**
 * A stable, low-cardinality name for each rule, for counting DLQ messages by reason (the reason text
 * itself may quote the offending input).
 */
export type RejectCode =
  | 'empty'
  | 'not-json'
  | 'not-object'
  | 'unknown-field'
  | 'bad-version'
  | 'bad-field'
  | 'bad-machine'
  | 'key-mismatch'
  | 'bad-labels'
  | 'bad-window'
  | 'future'
  | 'too-late'
  | 'no-timestamp'
  | 'id-reused'
  | 'bad-cores'
  | 'bad-busy'
  | 'bad-memory';

export type SampleCheck = { ok: true; sample: Sample } | { ok: false; reason: string; code: RejectCode };

const SAMPLE_KEYS = new Set(['v', 'id', 'machine', 'labels', 'start', 'end', 'cpu', 'mem']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

const fail = (code: RejectCode, reason: string): SampleCheck & { ok: false } => ({ ok: false, reason, code });

/**
 * Parses and validates one message. `key` is the message key as a string (null when absent).
 * Returns the reason for the first rule broken, worded for a human reading the DLQ.
 */
export function checkSample(
  value: Buffer | string | null | undefined,
  key: string | null | undefined,
  limits: ValidationLimits,
): SampleCheck {
  if (value === null || value === undefined || value.length === 0) return fail('empty', 'empty message value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch {
    return fail('not-json', 'value is not JSON');
  }
  if (!isPlainObject(parsed)) return fail('not-object', 'value is not a JSON object');
  for (const k in parsed) {
    if (!SAMPLE_KEYS.has(k)) return fail('unknown-field', `unknown field "${k}"`);
  }
  const s = parsed;
  if (s.v !== SAMPLE_VERSION) return fail('bad-version', `unsupported version v=${JSON.stringify(s.v)} (expected 1)`);
  if (typeof s.id !== 'string' || s.id.length === 0) return fail('bad-field', 'field "id" must be a non-empty string');
  if (typeof s.machine !== 'string') return fail('bad-machine', 'field "machine" must be a string');
  if (s.machine.length === 0) return fail('bad-machine', 'field "machine" is empty');
  if (s.machine.length > MAX_MACHINE_ID_LENGTH) return fail('bad-machine', `field "machine" is longer than ${MAX_MACHINE_ID_LENGTH} characters`);
  if (key !== s.machine) return fail('key-mismatch', `message key ${JSON.stringify(key ?? null)} does not equal machine ${JSON.stringify(s.machine)}`);
  if (!isPlainObject(s.labels)) return fail('bad-labels', 'field "labels" must be an object of strings');
  // for...in over own JSON keys: no array per message (this runs for every sample the worker bills).
  for (const k in s.labels) {
    if (typeof s.labels[k] !== 'string') return fail('bad-labels', `label "${k}" must be a string (labels are a flat string map)`);
  }
  const window = windowRuleBroken(s.start, s.end, limits);
  if (window) return window;
  if (!isPlainObject(s.cpu)) return fail('bad-field', 'field "cpu" must be an object');
  if (!isPlainObject(s.mem)) return fail('bad-field', 'field "mem" must be an object');
  for (const k in s.cpu) {
    if (k !== 'cores' && k !== 'busySeconds') return fail('unknown-field', `unknown field "cpu.${k}"`);
  }
  for (const k in s.mem) {
    if (k !== 'totalBytes' && k !== 'usedBytes') return fail('unknown-field', `unknown field "mem.${k}"`);
  }
  const usage = usageRuleBroken(s.cpu.cores, s.cpu.busySeconds, s.mem.totalBytes, s.mem.usedBytes, (s.end as number) - (s.start as number));
  if (usage) return usage;
  return { ok: true, sample: parsed as unknown as Sample };
}

/**
 * The window's rules (integers, end after start, within the limits): the failure, or null when kept.
 * checkSample and the agents'-layout reader (sample-layout.ts) both judge by it.
 */
export function windowRuleBroken(start: unknown, end: unknown, limits: ValidationLimits): (SampleCheck & { ok: false }) | null {
  if (!Number.isSafeInteger(start)) return fail('bad-field', 'field "start" must be an integer (epoch ms)');
  if (!Number.isSafeInteger(end)) return fail('bad-field', 'field "end" must be an integer (epoch ms)');
  const from = start as number;
  const to = end as number;
  if (to <= from) return fail('bad-window', 'window end <= start');
  if (limits.now !== undefined) {
    if (to > limits.now + MAX_FUTURE_MS) return fail('future', 'window ends more than 5 minutes in the future');
    if (to < limits.now - limits.lateLimitMs) return fail('too-late', 'window is older than the late-data limit');
  }
  // A window longer than the late-data limit starts before it; the bound also keeps a sample's usage
  // (CPU microseconds) well inside a 64-bit integer in the ledger.
  if (to - from > limits.lateLimitMs) return fail('too-late', 'window is longer than the late-data limit');
  return null;
}

/** The usage rules (cores, busy time within the window, memory) for a window of `windowMs`: the failure, or null. */
export function usageRuleBroken(cores: unknown, busySeconds: unknown, totalBytes: unknown, usedBytes: unknown, windowMs: number): (SampleCheck & { ok: false }) | null {
  if (!Number.isInteger(cores) || (cores as number) < 1 || (cores as number) > MAX_CORES) {
    return fail('bad-cores', `cpu.cores must be an integer in 1..${MAX_CORES}`);
  }
  if (!isFiniteNumber(busySeconds)) return fail('bad-busy', 'cpu.busySeconds must be a number');
  // A tiny tolerance: counters are sampled a few microseconds apart from the wall clock.
  if (busySeconds < 0 || busySeconds > (cores as number) * (windowMs / 1000) * 1.0001 + 1e-9) {
    return fail('bad-busy', 'cpu.busySeconds outside 0..cores x window');
  }
  if (!Number.isSafeInteger(totalBytes) || !Number.isSafeInteger(usedBytes)) {
    return fail('bad-memory', 'mem.totalBytes and mem.usedBytes must be integers');
  }
  if ((totalBytes as number) < 0 || (usedBytes as number) < 0) return fail('bad-memory', 'memory is negative');
  if ((usedBytes as number) > (totalBytes as number)) return fail('bad-memory', 'mem.usedBytes > mem.totalBytes');
  if ((totalBytes as number) > MAX_TOTAL_BYTES) return fail('bad-memory', 'mem.totalBytes above 64 TiB');
  return null;
}

export function encodeSample(sample: Sample): string {
  return JSON.stringify(sample);
}
