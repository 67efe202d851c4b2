// The live tail's cheap reader must answer exactly as the validator does: for generated samples in the
// agents' layout and in others, mutated fields, extra fields, cut and flipped bytes and wrong keys,
// it accepts the same messages as checkSample() with the same values, and reads the agents' layout
// without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSample, MAX_CORES, MAX_FUTURE_MS, MAX_TOTAL_BYTES, type Sample } from '../../../src/schema/sample.js';
import { TailDecoder, type TailSample } from '../../../src/console/tail-decode.js';

const NOW = Date.UTC(2026, 10, 20, 12);
const LIMITS = { now: NOW, lateLimitMs: 7 * 86_400_000 };

const validSample: fc.Arbitrary<Sample> = fc
  .record({
    machine: fc.constantFrom('web-1', 'db-1', 'ünïcode-☃', 'q"uote', 'back\\slash', 'x'.repeat(255), 'x'.repeat(256)),
    seq: fc.integer({ min: 0, max: 1000 }),
    endAgoMs: fc.integer({ min: -MAX_FUTURE_MS - 1000, max: LIMITS.lateLimitMs + 1000 }),
    windowMs: fc.integer({ min: 1, max: 3_600_000 }),
    cores: fc.integer({ min: 0, max: MAX_CORES + 1 }),
    busyShare: fc.double({ min: 0, max: 1.01, noNaN: true }),
    totalBytes: fc.integer({ min: 0, max: MAX_TOTAL_BYTES }),
    usedShare: fc.double({ min: 0, max: 1.01, noNaN: true }),
    labels: fc.oneof(
      fc.constant({ team: 'search', env: 'prod' }),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      fc.constant({ 'a"b': 'c\\d', '}': '{', '\u0000': '\n' }),
    ),
  })
  .map((r) => {
    const end = NOW - r.endAgoMs;
    return {
      v: 1 as const,
      id: `${r.machine}:1:${r.seq}`,
      machine: r.machine,
      labels: r.labels as Record<string, string>,
      start: end - r.windowMs,
      end,
      cpu: { cores: r.cores, busySeconds: r.busyShare * r.cores * (r.windowMs / 1000) },
      mem: { totalBytes: r.totalBytes, usedBytes: Math.floor(r.usedShare * r.totalBytes) },
    };
  });

const junk = fc.oneof(fc.constantFrom(null, true, '', '1', -1, 0.5, 1e308, 2 ** 60, [], {}), fc.integer(), fc.double(), fc.string({ maxLength: 6 }));
const paths = ['v', 'id', 'machine', 'labels', 'start', 'end', 'cpu', 'mem', 'cpu.cores', 'cpu.busySeconds', 'mem.totalBytes', 'mem.usedBytes'];

interface Message {
  key: Buffer | null;
  value: Buffer | null;
}

const message: fc.Arbitrary<Message> = fc.oneof(
  // The agents' layout.
  { weight: 5, arbitrary: validSample.map((s) => ({ key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s)) })) },
  // Other layouts of the same sample: spaces, another key order.
  {
    weight: 1,
    arbitrary: validSample.map((s) => ({ key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s, null, 1)) })),
  },
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

function expected(m: Message): TailSample | null {
  const checked = checkSample(m.value, m.key?.toString('utf8') ?? null, LIMITS);
  if (!checked.ok) return null;
  const s = checked.sample;
  return { machine: s.machine, labels: s.labels, start: s.start, end: s.end, cores: s.cpu.cores, busySeconds: s.cpu.busySeconds, totalBytes: s.mem.totalBytes, usedBytes: s.mem.usedBytes };
}

test('the same verdict and the same values as checkSample, over generated and mutated messages', () => {
  const decoder = new TailDecoder();
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 50 }), (messages) => {
      for (const m of messages) {
        const want = expected(m);
        assert.deepStrictEqual(decoder.read(m.value, m.key, LIMITS), want, m.value?.toString('utf8'));
        if (want) accepted++;
      }
    }),
    { numRuns: 1000 },
  );
  assert.ok(accepted > 1000, `${accepted} accepted: the valid path is exercised`);
  assert.ok(decoder.fast > 1000, `${decoder.fast} read in the agents' layout without checkSample`);
  assert.ok(decoder.slow > 1000, `${decoder.slow} went through checkSample`);
});

test("the agents' layout is read without checkSample; a machine's labels are parsed again only when they change", () => {
  const decoder = new TailDecoder();
  const s = (labels: Record<string, string>, start: number): Sample => ({ v: 1, id: `a:1:${start}`, machine: 'a', labels, start, end: start + 5000, cpu: { cores: 4, busySeconds: 1.5 }, mem: { totalBytes: 100, usedBytes: 50 } });
  const read = (x: Sample) => decoder.read(Buffer.from(JSON.stringify(x)), Buffer.from('a'), LIMITS)!;
  const first = read(s({ team: 'x' }, NOW - 60_000));
  const second = read(s({ team: 'x' }, NOW - 55_000));
  assert.equal(second.labels, first.labels, 'the same labels object: not parsed again');
  const third = read(s({ team: 'y' }, NOW - 50_000));
  assert.deepEqual(third.labels, { team: 'y' });
  assert.equal(decoder.fast, 3);
  assert.equal(decoder.slow, 0);
  assert.deepEqual({ ...first, labels: {} }, { machine: 'a', labels: {}, start: NOW - 60_000, end: NOW - 55_000, cores: 4, busySeconds: 1.5, totalBytes: 100, usedBytes: 50 });
});
