// The SQLite ledger inserts samples SAMPLE_CHUNK rows to a statement and upserts rollups ROLLUP_CHUNK
// rows to a statement, the rest one by one: with more rows than a chunk holds, both paths run, and the
// rollups must still equal the samples. A chunk that meets a sample already there is rolled back and
// the batch inserted row by row: duplicates counted, conflicts refused, nothing billed twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { ROLLUP_CHUNK, SAMPLE_CHUNK } from '../../../src/ledger/sqlite/statements.js';
import { SampleConflictError } from '../../../src/ledger/index.js';

test('SQLite rollups of a batch with more machines than a chunk equal the samples, per machine', async () => {
  const machines = 2 * ROLLUP_CHUNK + 7;
  const perMachine = 30;
  const now = Date.now();
  const messages = [];
  for (let i = 0; i < machines * perMachine; i++) {
    const m = i % machines;
    const seq = Math.floor(i / machines);
    const start = now - 7_200_000 + seq * 5000;
    const machine = `host-${m}`;
    const sample = { v: 1, id: `${machine}:1:${seq}`, machine, labels: { team: `t${m % 5}` }, start, end: start + 5000, cpu: { cores: 4, busySeconds: (i % 2000) / 1000 }, mem: { totalBytes: 2 ** 34, usedBytes: 2 ** 30 + i } };
    messages.push({ offset: String(i), key: Buffer.from(machine), value: Buffer.from(JSON.stringify(sample)), timestamp: String(now) });
  }
  const dir = mkdtempSync(join(tmpdir(), 'meter-rollup-chunks-'));
  const ledger = openSqliteLedger(join(dir, 'ledger.db'));
  try {
    const preparer = new BatchPreparer();
    const half = Math.floor(messages.length / 2);
    for (const [from, to] of [[0, half], [half, messages.length]] as const) {
      const result = ledger.applyBatchSync({ group: 'g', topic: 't', partition: 0, fetchedOffset: from, lastOffset: to - 1, samples: preparer.prepare(messages.slice(from, to)).samples, rejects: [], now });
      assert.equal(result.inserted, to - from);
    }
    const direct = ledger.db
      .prepare('SELECT r.machine, COUNT(*) AS n, SUM(s.cpu_busy_us) AS cpu, SUM(s.window_ms) AS covered FROM samples s JOIN runs r ON r.id = s.run GROUP BY r.machine ORDER BY r.machine')
      .all();
    assert.equal(direct.length, machines);
    for (const table of ['usage_hourly', 'usage_monthly']) {
      const rolled = ledger.db.prepare(`SELECT machine, SUM(samples) AS n, SUM(cpu_busy_us) AS cpu, SUM(covered_ms) AS covered FROM ${table} GROUP BY machine ORDER BY machine`).all();
      assert.deepEqual(rolled, direct, table);
    }
    assert.deepEqual(ledger.db.prepare('SELECT COUNT(*) AS c, SUM(samples) AS n FROM machines').get(), { c: machines, n: machines * perMachine });
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch whose chunks meet samples already billed counts them as duplicates, bills the rest once, and refuses a changed body', async () => {
  const now = Date.now();
  const message = (i: number, busySeconds = (i % 100) / 100) => {
    const machine = `m-${i % 3}`;
    const start = now - 3_600_000 + i * 5000;
    const sample = { v: 1, id: `${machine}:1:${i}`, machine, labels: {}, start, end: start + 5000, cpu: { cores: 2, busySeconds }, mem: { totalBytes: 2 ** 30, usedBytes: 2 ** 20 } };
    return { offset: String(i), key: Buffer.from(machine), value: Buffer.from(JSON.stringify(sample)), timestamp: String(now) };
  };
  const n = 5 * SAMPLE_CHUNK + 3;
  const all = Array.from({ length: n }, (_, i) => message(i));
  const dir = mkdtempSync(join(tmpdir(), 'meter-sample-chunks-'));
  const ledger = openSqliteLedger(join(dir, 'ledger.db'));
  const preparer = new BatchPreparer();
  // Each batch on a partition of its own, so the ledger's offsets skip nothing: only ids decide.
  const apply = (partition: number, messages: typeof all) =>
    ledger.applyBatchSync({ group: 'g', topic: 't', partition, fetchedOffset: 0, lastOffset: messages.length - 1, samples: preparer.prepare(messages.map((m, k) => ({ ...m, offset: String(k) }))).samples, rejects: [], now });
  const rollupsEqualSamples = () => {
    const direct = ledger.db.prepare('SELECT COUNT(*) AS n, SUM(cpu_busy_us) AS cpu FROM samples').get();
    assert.deepEqual(ledger.db.prepare('SELECT SUM(samples) AS n, SUM(cpu_busy_us) AS cpu FROM usage_hourly').get(), direct);
    assert.deepEqual(ledger.db.prepare('SELECT SUM(samples) AS n, SUM(cpu_busy_us) AS cpu FROM usage_monthly').get(), direct);
    return direct as { n: number };
  };
  try {
    assert.deepEqual(apply(0, all.slice(0, 2 * SAMPLE_CHUNK)), { inserted: 2 * SAMPLE_CHUNK, duplicates: 0, skipped: 0, rejected: 0, nextOffset: 2 * SAMPLE_CHUNK, prunedBefore: 0 });
    // Overlapping what is there, with an id twice in the batch itself.
    const overlap = [...all.slice(SAMPLE_CHUNK + 1), all[n - 1]!];
    const result = apply(1, overlap);
    assert.equal(result.inserted, n - 2 * SAMPLE_CHUNK);
    assert.equal(result.duplicates, overlap.length - (n - 2 * SAMPLE_CHUNK));
    assert.equal(rollupsEqualSamples().n, n);
    // A body changed under a billed id, in the middle of a chunk: the whole batch is refused.
    const changed = all.map((m, i) => (i === SAMPLE_CHUNK + 3 ? message(i, 1.5) : m));
    assert.throws(() => apply(2, [...changed, message(n)]), (e: unknown) => e instanceof SampleConflictError && e.conflicts.length === 1 && e.conflicts[0]!.offset === SAMPLE_CHUNK + 3);
    assert.equal(rollupsEqualSamples().n, n, 'nothing of the refused batch is billed');
    assert.equal((ledger.db.prepare("SELECT value FROM counters WHERE name = 'samples'").get() as { value: number }).value, n);
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
