import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from '../../../src/agent/spool.js';
import { silentLogger } from '../../../src/log/logger.js';

const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `m-${(from + i) % 3}`, value: JSON.stringify({ n: from + i, pad: 'x'.repeat(100) }) }));

const tempDir = () => mkdtempSync(join(tmpdir(), 'meter-spool-'));

test('records come back in order and leave only when acknowledged', () => {
  const dir = tempDir();
  const spool = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  spool.append(records(0, 10));
  const first = spool.peek(4);
  assert.deepEqual(first.records.map((r) => JSON.parse(r.value).n), [0, 1, 2, 3]);
  // Not acknowledged: the same records again.
  assert.deepEqual(spool.peek(4).records, first.records);
  spool.ack(first.next, first.records.length);
  assert.equal(spool.pending, 6);
  const rest = spool.peek(100);
  assert.deepEqual(rest.records.map((r) => JSON.parse(r.value).n), [4, 5, 6, 7, 8, 9]);
  assert.equal(rest.records[0]!.key, 'm-1');
  spool.close();
});

test('a restart keeps what was not acknowledged, and only that', () => {
  const dir = tempDir();
  const a = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  a.append(records(0, 5));
  const batch = a.peek(2);
  a.ack(batch.next, 2);
  a.append(records(5, 3));
  a.close();
  const b = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  assert.equal(b.pending, 6);
  assert.deepEqual(b.peek(100).records.map((r) => JSON.parse(r.value).n), [2, 3, 4, 5, 6, 7]);
  b.close();
});

test('spans many segments in order and deletes the ones fully delivered', () => {
  const dir = tempDir();
  const spool = Spool.open(dir, { maxBytes: 2 << 20, logger: silentLogger }); // 128 KiB segments
  for (let i = 0; i < 40; i++) spool.append(records(i * 100, 100));
  assert.ok(readdirSync(dir).filter((f) => f.endsWith('.log')).length > 3);
  const seen: number[] = [];
  for (;;) {
    const b = spool.peek(333);
    if (b.records.length === 0) break;
    seen.push(...b.records.map((r) => JSON.parse(r.value).n as number));
    spool.ack(b.next, b.records.length);
  }
  assert.equal(seen.length, 4000);
  assert.ok(seen.every((n, i) => n === i));
  assert.equal(spool.pending, 0);
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.log')).length, 1);
  spool.close();
});

test('at the bound the oldest samples are dropped and counted, the newest kept', () => {
  const dir = tempDir();
  const spool = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger }); // 64 KiB segments
  for (let i = 0; i < 100; i++) spool.append(records(i * 100, 100)); // ~1.3 MB
  assert.ok(spool.bytes <= 1 << 20, `spool holds ${spool.bytes} bytes`);
  assert.ok(spool.dropped > 0);
  assert.equal(spool.pending + spool.dropped, 10_000);
  const all: number[] = [];
  for (;;) {
    const b = spool.peek(1000);
    if (b.records.length === 0) break;
    all.push(...b.records.map((r) => JSON.parse(r.value).n as number));
    spool.ack(b.next, b.records.length);
  }
  assert.equal(all.at(-1), 9999);
  assert.equal(all[0], spool.dropped);
  spool.close();
});

test('a half-written last record (agent killed mid-write) is cut off on open', () => {
  const dir = tempDir();
  const a = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  a.append(records(0, 3));
  a.close();
  const seg = readdirSync(dir).find((f) => f.endsWith('.log'))!;
  appendFileSync(join(dir, seg), '"m-1"\t{"n":3,"pa');
  const b = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  assert.equal(b.pending, 3);
  assert.deepEqual(b.peek(10).records.map((r) => JSON.parse(r.value).n), [0, 1, 2]);
  b.append(records(3, 1));
  assert.deepEqual(b.peek(10).records.map((r) => JSON.parse(r.value).n), [0, 1, 2, 3]);
  b.close();
});

test('a second agent on the same spool directory is refused', () => {
  const dir = tempDir();
  const a = Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger });
  // The pid file names a live process other than us: our parent.
  writeFileSync(join(dir, 'agent.pid'), String(process.ppid));
  assert.throws(() => Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger }), /in use by another agent/);
  a.close();
  // Released: opens again.
  Spool.open(dir, { maxBytes: 1 << 20, logger: silentLogger }).close();
});
