// The SQLite ledger upserts rollups ROLLUP_CHUNK rows to a statement, the rest one by one: with more
// machines in a batch than a chunk holds, both paths run, and the rollups must still equal the samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { ROLLUP_CHUNK } from '../../../src/ledger/sqlite/statements.js';

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
