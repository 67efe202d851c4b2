// Generated Sample v1 messages for property tests of the readers that skip JSON.parse (the worker's
// preparer, the console's tail): valid samples in the agents' layout and in others, fields set to
// junk, removed or added, wrong keys, flipped and cut bytes, trailing junk, odd ids and escapes.
import fc from 'fast-check';
import { MAX_CORES, MAX_FUTURE_MS, MAX_TOTAL_BYTES, type Sample } from '../../src/schema/sample.js';

export interface GeneratedMessage {
  key: Buffer | null;
  value: Buffer | null;
}

/** Samples around `now`, some breaking a rule (window, cores, busy time, memory, machine length). */
export function sampleAround(now: number, lateLimitMs: number): fc.Arbitrary<Sample> {
  return fc
    .record({
      machine: fc.constantFrom('web-1', 'db-1', 'ünïcode-☃', 'q"uote', 'back\\slash', 'tab\there', 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(200)),
      // The agents' ids, and others the ledger must keep exactly: no sequence, a leading zero, past 2^53.
      idTail: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 1000 }).map((seq) => `:1764252000000:${seq}`) },
        { weight: 1, arbitrary: fc.constantFrom('', ':', ':007', ':0', ':9007199254740991', ':9007199254740993', ':12345678901234567', ':1:x', ':\\u0041', ':é:5') },
      ),
      endAgoMs: fc.integer({ min: -MAX_FUTURE_MS - 1000, max: lateLimitMs + 1000 }),
      windowMs: fc.integer({ min: 1, max: 3_600_000 }),
      cores: fc.integer({ min: 0, max: MAX_CORES + 1 }),
      busyShare: fc.double({ min: 0, max: 1.01, noNaN: true }),
      totalBytes: fc.integer({ min: 0, max: MAX_TOTAL_BYTES }),
      usedShare: fc.double({ min: 0, max: 1.01, noNaN: true }),
      labels: fc.oneof(
        fc.constant({ team: 'search', env: 'prod' }),
        fc.constant({ env: 'prod', team: 'search' }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
        fc.constant({ 'a"b': 'c\\d', '}': '{', '\u0000': '\n' }),
      ),
    })
    .map((r) => {
      const end = now - r.endAgoMs;
      return {
        v: 1 as const,
        id: `${r.machine}${r.idTail}`,
        machine: r.machine,
        labels: r.labels as Record<string, string>,
        start: end - r.windowMs,
        end,
        cpu: { cores: r.cores, busySeconds: r.busyShare * r.cores * (r.windowMs / 1000) },
        mem: { totalBytes: r.totalBytes, usedBytes: Math.floor(r.usedShare * r.totalBytes) },
      };
    });
}

const junk = fc.oneof(fc.constantFrom(null, true, '', '1', -1, 0.5, 1e308, 2 ** 60, [], {}), fc.integer(), fc.double(), fc.string({ maxLength: 6 }));
const paths = ['v', 'id', 'machine', 'labels', 'start', 'end', 'cpu', 'mem', 'cpu.cores', 'cpu.busySeconds', 'mem.totalBytes', 'mem.usedBytes'];

/** Messages of samples around `now`: mostly the agents' layout, the rest every way a message can differ. */
export function messageAround(now: number, lateLimitMs: number): fc.Arbitrary<GeneratedMessage> {
  const validSample = sampleAround(now, lateLimitMs);
  return fc.oneof(
    // The agents' layout.
    { weight: 5, arbitrary: validSample.map((s) => ({ key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s)) })) },
    // Other layouts of the same sample: spaces, another key order.
    { weight: 1, arbitrary: validSample.map((s) => ({ key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s, null, 1)) })) },
    {
      weight: 1,
      arbitrary: validSample.map((s) => {
        const { v, id, ...rest } = s;
        return { key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify({ ...rest, id, v })) };
      }),
    },
    // A field set to junk, removed or added.
    {
      weight: 3,
      arbitrary: fc.tuple(validSample, fc.constantFrom(...paths), junk, fc.constantFrom('set', 'delete', 'extra')).map(([s, path, value, how]) => {
        const copy = JSON.parse(JSON.stringify(s)) as Record<string, Record<string, unknown>>;
        const [a, b] = path.split('.') as [string, string | undefined];
        const target = b ? copy[a]! : (copy as Record<string, unknown>);
        const field = b ?? a;
        if (how === 'delete') delete target[field];
        else if (how === 'extra') target.extra = value;
        else target[field] = value;
        return { key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(copy)) };
      }),
    },
    // A wrong key, or none.
    { weight: 1, arbitrary: fc.tuple(validSample, fc.option(fc.string({ maxLength: 8 }), { nil: null })).map(([s, k]) => ({ key: k === null ? null : Buffer.from(k), value: Buffer.from(JSON.stringify(s)) })) },
    // Bytes flipped or cut short.
    {
      weight: 2,
      arbitrary: fc.tuple(validSample, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.boolean()).map(([s, at, byte, cut]) => {
        const bytes = Buffer.from(JSON.stringify(s));
        const i = at % bytes.length;
        const value = cut ? bytes.subarray(0, i) : Buffer.concat([bytes.subarray(0, i), Buffer.from([byte]), bytes.subarray(i + 1)]);
        return { key: Buffer.from(s.machine), value };
      }),
    },
    // Something after the sample: more JSON, spaces, junk.
    { weight: 1, arbitrary: fc.tuple(validSample, fc.constantFrom(' ', '\n', '}', ',{}', 'x', '{"v":1}')).map(([s, tail]) => ({ key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s) + tail) })) },
    { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b))).map((value) => ({ key: Buffer.from('web-1'), value })) },
  );
}
