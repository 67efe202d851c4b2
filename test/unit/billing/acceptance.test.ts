import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_ACCEPTANCE_WINDOW,
  checkEventTime,
  parseMessageTimestamp,
  pruneHorizon,
} from '../../../src/billing/acceptance.js';

const MIN = 60_000;
const DAY = 86_400_000;
const ts = Date.UTC(2026, 10, 20, 12);
const window = (start: number, length = 5000) => ({ start, end: start + length });

test('defaults: 5 minutes ahead and 35 days back of the message timestamp, boundaries included', () => {
  assert.deepEqual(DEFAULT_ACCEPTANCE_WINDOW, { aheadMs: 5 * MIN, backMs: 35 * DAY });
  assert.deepEqual(checkEventTime({ start: ts + 5 * MIN - 5000, end: ts + 5 * MIN }, ts), { ok: true });
  assert.deepEqual(checkEventTime({ start: ts + 5 * MIN - 5000, end: ts + 5 * MIN + 1 }, String(ts)), {
    ok: false,
    code: 'future',
    reason: "window ends more than 5m after its message's timestamp",
  });
  assert.deepEqual(checkEventTime(window(ts - 35 * DAY), ts), { ok: true });
  assert.deepEqual(checkEventTime(window(ts - 35 * DAY - 1), ts), {
    ok: false,
    code: 'too-late',
    reason: "window starts more than 35d before its message's timestamp",
  });
  // A spool replayed after a two-day outage: old samples in new messages, all accepted.
  assert.equal(checkEventTime(window(ts - 2 * DAY), ts + 10 * MIN).ok, true);
  assert.equal(checkEventTime(window(ts - 5000), ts, { aheadMs: 0, backMs: 90 * 60_000 }).ok, true);
  assert.match((checkEventTime(window(ts - 2 * 3_600_000), ts, { aheadMs: 0, backMs: 90 * 60_000 }) as { reason: string }).reason, /more than 90m before/);
});

test("the worker's clock plays no part: the same log is judged the same on any day", () => {
  const log = [
    { sample: window(ts - 40 * DAY), timestamp: String(ts) },
    { sample: window(ts - 3 * DAY), timestamp: String(ts) },
    { sample: window(ts + 10 * MIN), timestamp: String(ts) },
    { sample: window(ts), timestamp: String(ts) },
  ];
  const judge = () => log.map((m) => checkEventTime(m.sample, m.timestamp));
  const today = judge();
  const realNow = Date.now;
  try {
    Date.now = () => ts + 400 * DAY;
    assert.deepEqual(judge(), today, 'a year later, the same verdicts');
    Date.now = () => ts - 400 * DAY;
    assert.deepEqual(judge(), today);
  } finally {
    Date.now = realNow;
  }
  assert.deepEqual(today.map((c) => (c.ok ? 'ok' : c.code)), ['too-late', 'ok', 'future', 'ok']);
});

test('the verdict depends on the window only relative to the timestamp', () => {
  fc.assert(
    fc.property(fc.integer({ min: -40 * DAY, max: 40 * DAY }), fc.integer({ min: 1, max: DAY }), fc.integer({ min: 0, max: 2 ** 42 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), (offset, length, t, shift) => {
      fc.pre(t + shift >= 0);
      const a = checkEventTime(window(t + offset, length), t);
      const b = checkEventTime(window(t + shift + offset, length), t + shift);
      assert.deepEqual(a, b);
    }),
  );
});

test('messages without a timestamp, and samples older than what was pruned, are refused', () => {
  assert.equal(parseMessageTimestamp('1764252000000'), 1764252000000);
  assert.equal(parseMessageTimestamp(1764252000000), 1764252000000);
  for (const bad of ['-1', '', undefined, '1.5', 'abc', '99999999999999999999']) assert.equal(parseMessageTimestamp(bad), undefined, String(bad));
  assert.deepEqual(checkEventTime(window(ts), '-1'), { ok: false, code: 'no-timestamp', reason: 'the message has no timestamp to judge its window against' });
  const horizon = pruneHorizon(ts);
  assert.equal(horizon, ts - 36 * DAY);
  const old = checkEventTime(window(horizon - 1000), horizon + 30 * DAY, DEFAULT_ACCEPTANCE_WINDOW, { prunedBefore: horizon });
  assert.deepEqual(old, { ok: false, code: 'too-late', reason: `window starts before ${new Date(horizon).toISOString()}, whose raw samples were pruned` });
  assert.equal(checkEventTime(window(horizon), horizon + 30 * DAY, DEFAULT_ACCEPTANCE_WINDOW, { prunedBefore: horizon }).ok, true);
});
