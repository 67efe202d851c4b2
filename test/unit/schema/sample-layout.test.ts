// The agents' layout reader takes busy seconds from the bytes with its own decimal reader (a division
// of exact doubles when the digits allow it, Number() otherwise). Whatever the digits, the value must
// be the double checkSample (JSON.parse) gives for the same message, to the bit (-0 included), or the
// message refused as checkSample refuses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { newLayoutScan, scanAgentLayout } from '../../../src/schema/sample-layout.js';
import { checkSample } from '../../../src/schema/sample.js';

const START = 1_764_252_000_000;
const END = START + 60_000;
const limits = { now: END + 1000, lateLimitMs: 7 * 24 * 3600 * 1000 };
// 64 cores over 60 s: busy seconds up to 3,840 keep the usage rules.
const CORES = 64;
const KEY = Buffer.from('web-1');

function message(busyText: string): Buffer {
  return Buffer.from(
    `{"v":1,"id":"web-1:1:1","machine":"web-1","labels":{"team":"a"},"start":${START},"end":${END},"cpu":{"cores":${CORES},"busySeconds":${busyText}},"mem":{"totalBytes":100,"usedBytes":50}}`,
  );
}

/** What the reader says of a busy-seconds text: its value, or null when it refuses the message. */
function readBusy(busyText: string): number | null {
  const scan = newLayoutScan();
  return scanAgentLayout(message(busyText), KEY, limits, scan) ? scan.busySeconds : null;
}

/** What checkSample (JSON.parse and the validator) says of the same message: its busy seconds, or null when it refuses it. */
function expectedBusy(busyText: string): number | null {
  const checked = checkSample(message(busyText), 'web-1', limits);
  return checked.ok ? checked.sample.cpu.busySeconds : null;
}

function same(busyText: string): void {
  const got = readBusy(busyText);
  const want = expectedBusy(busyText);
  assert.ok(Object.is(got, want), `busySeconds ${busyText}: read ${got}, JSON.parse ${want}`);
}

test('busy seconds as agents write them (JSON.stringify of a double) read to the same double', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 3840, noNaN: true }), (busy) => same(JSON.stringify(busy))),
    { numRuns: 5000 },
  );
});

test('busy seconds of any digits, fraction and exponent read as JSON.parse reads them', () => {
  const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  const text = fc
    .tuple(
      fc.constantFrom('', '-'),
      digits(1, 19),
      fc.option(digits(0, 25), { nil: undefined }),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(0, 3)), { nil: undefined }),
    )
    .map(([sign, int, fraction, exponent]) => `${sign}${int}${fraction === undefined ? '' : `.${fraction}`}${exponent ? exponent.join('') : ''}`);
  fc.assert(fc.property(text, same), { numRuns: 20000 });
});

test('edges: zero and negative zero, the longest exact digits, and past them', () => {
  for (const t of ['0', '-0', '0.0', '-0.0', '0.5', '3840', '3840.0', '3840.384', '3840.3840000000001', '123.456789012345', '123.4567890123456', '0.1', '0.30000000000000004', '1e3', '1E-3', '2.5e+2', '9007199254.740993', '01', '1.', '.5', '-', '1e']) {
    same(t);
  }
});
