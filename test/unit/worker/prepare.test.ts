import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { rowAt, splitId, idOf } from '../../../src/ledger/index.js';
import { GiB, makeSample, message } from './fixtures.js';

const NOW = Date.UTC(2026, 10, 15, 12);
const DAY = 24 * 3_600_000;
const BACK = 35 * DAY;

test('valid samples become ledger rows with integer usage, the id split into run and sequence', () => {
  const preparer = new BatchPreparer();
  const sample = makeSample({ machine: 'web-1', start: NOW - 60_000, labels: { b: '2', a: '1' }, busySeconds: 12.5, usedBytes: 12 * GiB });
  const { samples, rejects, maxTimestamp } = preparer.prepare([message(sample, 7, undefined, NOW)]);
  assert.equal(rejects.length, 0);
  assert.equal(maxTimestamp, NOW);
  assert.deepEqual(samples.runs, ['web-1:1']);
  assert.deepEqual(rowAt(samples, 0), {
    offset: 7,
    id: sample.id,
    machine: 'web-1',
    labels: '{"a":"1","b":"2"}',
    start: sample.start,
    end: sample.end,
    cores: 8,
    cpuBusyUs: 12_500_000,
    memUsedBytes: 12 * GiB,
    memTotalBytes: 32 * GiB,
  });
});

test('ids split at their last colon only when a canonical decimal follows; every id comes back exactly', () => {
  const cases: [string, string, number, 0 | 1][] = [
    ['web-1:1764252000000:42', 'web-1:1764252000000', 42, 0],
    ['a:0', 'a', 0, 0],
    ['a:007', 'a:007', 0, 1],
    ['no-colon', 'no-colon', 0, 1],
    ['ends-with:', 'ends-with:', 0, 1],
    ['x:9007199254740991', 'x', 9007199254740991, 0],
    ['x:9007199254740992', 'x:9007199254740992', 0, 1],
    ['odd:\t1\\2\n3\r', 'odd:\t1\\2\n3\r', 0, 1],
    [':5', '', 5, 0],
  ];
  for (const [id, run, seq, whole] of cases) {
    assert.deepEqual(splitId(id), { run, seq, whole }, id);
    assert.equal(idOf(run, seq, whole), id);
  }
});

test('every invalid message is rejected with a reason and a code, and keeps its bytes for the DLQ', () => {
  const preparer = new BatchPreparer();
  const good = makeSample({ start: NOW - 60_000 });
  // [key, value, code, message timestamp (default: the window end)]
  const bad: [string | null, string, string, (number | null)?][] = [
    ['web-1', 'not json', 'not-json'],
    ['web-1', '[1]', 'not-object'],
    ['web-1', JSON.stringify({ ...good, v: 2 }), 'bad-version'],
    ['web-1', JSON.stringify({ ...good, extra: true }), 'unknown-field'],
    ['other', JSON.stringify(good), 'key-mismatch'],
    [null, JSON.stringify(good), 'key-mismatch'],
    ['web-1', JSON.stringify({ ...good, end: good.start }), 'bad-window'],
    ['web-1', JSON.stringify({ ...good, start: NOW + 600_000, end: NOW + 605_000 }), 'future', NOW],
    ['web-1', JSON.stringify({ ...good, start: NOW - BACK - 10_000, end: NOW - BACK - 5000 }), 'too-late', NOW],
    ['web-1', JSON.stringify(good), 'no-timestamp', null],
    ['web-1', JSON.stringify({ ...good, cpu: { cores: 0, busySeconds: 0 } }), 'bad-cores'],
    ['web-1', JSON.stringify({ ...good, cpu: { cores: 1, busySeconds: 6 } }), 'bad-busy'],
    ['web-1', JSON.stringify({ ...good, mem: { totalBytes: 1, usedBytes: 2 } }), 'bad-memory'],
    ['web-1', JSON.stringify({ ...good, labels: { a: { b: 'c' } } }), 'bad-labels'],
    ['web-1', JSON.stringify({ ...good, cpu: { ...good.cpu, steal: 1 } }), 'unknown-field'],
    ['web-1', JSON.stringify({ ...good, mem: { ...good.mem, cached: 1 } }), 'unknown-field'],
    ['web-1', JSON.stringify({ ...good, start: good.end - BACK - 1, cpu: { cores: 1, busySeconds: 1 } }), 'too-late'],
    ['web-1', '', 'empty'],
  ];
  const messages = [message(good, 0), ...bad.map(([key, value, , ts], i) => message(value, i + 1, key, ts))];
  const { samples, rejects } = preparer.prepare(messages);
  assert.equal(samples.runs.length, 1);
  assert.deepEqual(
    rejects.map((r) => [r.offset, r.code]),
    bad.map(([, , code], i) => [i + 1, code]),
  );
  for (const r of rejects) {
    assert.ok(r.reason.length > 0 && !r.reason.includes('\n'));
    assert.ok(r.value !== null);
  }
  assert.equal(rejects[0]!.value!.toString(), 'not json');
  assert.equal(rejects[0]!.key!.toString(), 'web-1');
});

test('event time: the same messages are judged the same on any day, by their timestamps alone', () => {
  const old = makeSample({ start: NOW - 30 * DAY });
  const ahead = makeSample({ start: NOW + 4 * 60_000 });
  const messages = [message(old, 0, undefined, NOW), message(ahead, 1, undefined, NOW), message(makeSample({ start: NOW - 40 * DAY }), 2, undefined, NOW)];
  const verdict = () => new BatchPreparer().prepare(messages).rejects.map((r) => [r.offset, r.code]);
  const first = verdict();
  assert.deepEqual(first, [[2, 'too-late']]);
  // Whatever the worker's clock says (the preparer never reads it), the verdict is the same.
  assert.deepEqual(verdict(), first);
  const narrow = new BatchPreparer({ aheadMs: 60_000, backMs: 7 * DAY }).prepare(messages).rejects.map((r) => [r.offset, r.code]);
  assert.deepEqual(narrow, [[0, 'too-late'], [1, 'future'], [2, 'too-late']]);
});

test('samples starting before the prune horizon are refused: their ids may be gone', () => {
  const preparer = new BatchPreparer();
  preparer.prunedBefore = NOW - 10 * DAY;
  const { samples, rejects } = preparer.prepare([message(makeSample({ start: NOW - 11 * DAY }), 0, undefined, NOW), message(makeSample({ start: NOW - 9 * DAY }), 1, undefined, NOW)]);
  assert.equal(samples.runs.length, 1);
  assert.deepEqual(rejects.map((r) => [r.offset, r.code]), [[0, 'too-late']]);
  assert.match(rejects[0]!.reason, /pruned/);
});

test('offsets the ledger found conflicting are refused with their reason', () => {
  const preparer = new BatchPreparer();
  const s = makeSample({ start: NOW - 60_000 });
  const { samples, rejects } = preparer.prepare([message(s, 3), message(makeSample({ start: NOW }), 4)], new Map([[3, { code: 'id-reused' as const, reason: 'seen before with another body' }]]));
  assert.equal(samples.runs.length, 1);
  assert.deepEqual(rejects.map((r) => [r.offset, r.code, r.reason]), [[3, 'id-reused', 'seen before with another body']]);
  assert.equal(rejects[0]!.value!.toString(), JSON.stringify(s));
});

test('a machine that changes labels gets its new labels', () => {
  const preparer = new BatchPreparer();
  const a = makeSample({ seq: 1, start: NOW - 60_000, labels: { env: 'dev' } });
  const b = makeSample({ seq: 2, start: NOW - 55_000, labels: { env: 'prod' } });
  const c = makeSample({ seq: 3, start: NOW - 50_000, labels: { env: 'prod', x: 'y' } });
  const { samples } = preparer.prepare([message(a, 0), message(b, 1), message(c, 2)]);
  assert.deepEqual(samples.labels, ['{"env":"dev"}', '{"env":"prod"}', '{"env":"prod","x":"y"}']);
});
