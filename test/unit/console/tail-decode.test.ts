// The live tail's cheap reader must answer exactly as the validator does: for generated samples in the
// agents' layout and in others, mutated fields, extra fields, cut and flipped bytes and wrong keys,
// it accepts the same messages as checkSample() with the same values, and reads the agents' layout
// without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkSample, type Sample } from '../../../src/schema/sample.js';
import { messageAround, type GeneratedMessage } from '../../helpers/sample-messages.js';
import { TailDecoder, type TailSample } from '../../../src/console/tail-decode.js';

const NOW = Date.UTC(2026, 10, 20, 12);
const LIMITS = { now: NOW, lateLimitMs: 7 * 86_400_000 };

type Message = GeneratedMessage;
const message = messageAround(NOW, LIMITS.lateLimitMs);

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
  assert.ok(decoder.fast > 500, `${decoder.fast} read in the agents' layout without checkSample`);
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
