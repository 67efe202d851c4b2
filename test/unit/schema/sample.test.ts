import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSample, type Sample } from '../../../src/schema/sample.js';

const now = 1_764_252_600_000;
const limits = { now, lateLimitMs: 7 * 24 * 3600 * 1000 };
const good: Sample = {
  v: 1,
  id: 'web-1:1764252000000:42',
  machine: 'web-1',
  labels: { team: 'search', env: 'prod' },
  start: 1_764_252_000_000,
  end: 1_764_252_005_000,
  cpu: { cores: 8, busySeconds: 12.5 },
  mem: { totalBytes: 34_359_738_368, usedBytes: 12_884_901_888 },
};

function reasonFor(mutate: (s: any) => void, key: string | null = 'web-1'): string {
  const s = structuredClone(good) as any;
  mutate(s);
  const r = checkSample(JSON.stringify(s), key, limits);
  assert.equal(r.ok, false, 'expected rejection');
  return r.ok ? '' : r.reason;
}

test('the DESIGN.md example is a valid sample', () => {
  const r = checkSample(Buffer.from(JSON.stringify(good)), 'web-1', limits);
  assert.deepEqual(r, { ok: true, sample: good });
});

test('not JSON, not an object, empty', () => {
  const reason = (r: ReturnType<typeof checkSample>) => (r.ok ? 'accepted' : r.reason);
  assert.equal(reason(checkSample('{nope', 'web-1', limits)), 'value is not JSON');
  assert.equal(reason(checkSample('[1,2]', 'web-1', limits)), 'value is not a JSON object');
  assert.equal(reason(checkSample(null, 'web-1', limits)), 'empty message value');
});

test('each rule of the contract has its own reason', () => {
  assert.match(reasonFor((s) => (s.v = 2)), /version/);
  assert.match(reasonFor((s) => delete s.id), /"id"/);
  assert.match(reasonFor((s) => (s.extra = 1)), /unknown field "extra"/);
  assert.match(reasonFor((s) => (s.start = '1')), /"start"/);
  assert.match(reasonFor(() => {}, 'web-2'), /key "web-2" does not equal machine "web-1"/);
  assert.match(reasonFor(() => {}, null), /key null/);
  assert.match(reasonFor((s) => (s.end = s.start)), /end <= start/);
  assert.match(reasonFor((s) => ((s.start = now + 400_000), (s.end = now + 405_000))), /future/);
  assert.match(reasonFor((s) => ((s.start = now - 8 * 86_400_000), (s.end = s.start + 5000))), /late-data limit/);
  assert.match(reasonFor((s) => (s.cpu.cores = 0)), /cores/);
  assert.match(reasonFor((s) => (s.cpu.cores = 4097)), /cores/);
  assert.match(reasonFor((s) => (s.cpu.cores = 1.5)), /cores/);
  assert.match(reasonFor((s) => (s.cpu.busySeconds = 41)), /busySeconds outside/);
  assert.match(reasonFor((s) => (s.cpu.busySeconds = -1)), /busySeconds outside/);
  assert.match(reasonFor((s) => (s.cpu.busySeconds = '1')), /busySeconds must be a number/);
  assert.match(reasonFor((s) => (s.mem.usedBytes = -1)), /negative/);
  assert.match(reasonFor((s) => (s.mem.usedBytes = s.mem.totalBytes + 1)), /usedBytes > mem.totalBytes/);
  assert.match(reasonFor((s) => ((s.mem.totalBytes = 65 * 2 ** 40), (s.mem.usedBytes = 1))), /64 TiB/);
  assert.match(reasonFor((s) => (s.machine = ''), ''), /empty/);
  assert.match(reasonFor((s) => (s.machine = 'x'.repeat(256)), 'x'.repeat(256)), /longer than 255/);
  assert.match(reasonFor((s) => (s.labels = { team: { nested: 'x' } })), /flat string map/);
  assert.match(reasonFor((s) => (s.labels = ['a'])), /"labels"/);
  assert.match(reasonFor((s) => (s.cpu = null)), /"cpu"/);
});

test('limits are inclusive at their edges', () => {
  const edge = (mutate: (s: any) => void) => {
    const s = structuredClone(good) as any;
    mutate(s);
    return checkSample(JSON.stringify(s), s.machine, limits).ok;
  };
  assert.equal(edge((s) => (s.cpu.busySeconds = 40)), true); // cores x window exactly
  assert.equal(edge((s) => (s.cpu.cores = 4096)), true);
  assert.equal(edge((s) => (s.mem.usedBytes = s.mem.totalBytes)), true);
  assert.equal(edge((s) => ((s.machine = 'x'.repeat(255)))), true);
  assert.equal(edge((s) => ((s.start = now + 295_000), (s.end = now + 300_000))), true);
});
