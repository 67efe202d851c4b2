import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { splitRange } from '../../../src/ledger/index.js';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { LEDGER_SCHEMA_VERSION, MIGRATIONS } from '../../../src/ledger/sqlite/schema.js';
import { loadRateCard } from '../../../src/billing/index.js';
import { MeterError } from '../../../src/cli/errors.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, makeSample, message, tempLedgerPath } from '../worker/fixtures.js';

import { HOUR, T0, batchOf, ledgerContract } from './contract.js';
import { ledgerBillingContract } from './contract-billing.js';
import { historyContract } from './history-contract.js';

ledgerContract('sqlite', async () => openSqliteLedger(tempLedgerPath()));
ledgerBillingContract('sqlite', async () => openSqliteLedger(tempLedgerPath()));
historyContract('sqlite', async () => openSqliteLedger(tempLedgerPath()));

test('a new ledger is created in WAL mode with the schema, and opening it again changes nothing', async () => {
  const path = tempLedgerPath();
  const first = openSqliteLedger(path);
  assert.equal(first.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(first.db.pragma('user_version', { simple: true }), LEDGER_SCHEMA_VERSION);
  const tables = () =>
    (first.db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','index','view') ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
  const before = tables();
  for (const t of ['samples', 'samples_id', 'samples_by_run_start', 'runs', 'shapes', 'price_versions', 'closed_invoices', 'usage_hourly', 'usage_monthly', 'offsets', 'dlq_counts', 'label_sets', 'machines']) {
    assert.ok(before.includes(t), t);
  }
  const second = openSqliteLedger(path);
  assert.deepEqual(tables(), before);
  await second.close();
  await first.close();
});

test('read-only opens fail with one line when the ledger is missing or is not a ledger', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meter-ledger-'));
  const missing = join(dir, 'nope.db');
  assert.throws(() => openSqliteLedger(missing, { readonly: true }), (e: unknown) => {
    assert.ok(e instanceof MeterError);
    assert.equal(e.message, `ledger ${missing} not found; run \`meter worker\` first or pass --ledger`);
    return true;
  });
  const junk = join(dir, 'junk.db');
  writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to be a header '.repeat(20));
  assert.throws(() => openSqliteLedger(junk, { readonly: true }), /ledger .*junk\.db is not a meter ledger \(not a SQLite database\)/);
  assert.throws(() => openSqliteLedger(junk), /is not a meter ledger/);
  const empty = join(dir, 'empty.db');
  new Database(empty).close();
  assert.throws(() => openSqliteLedger(empty, { readonly: true }), /is not a meter ledger \(no schema\)/);
  assert.throws(() => openSqliteLedger(dir, { readonly: true }), /is a directory/);
  const future = join(dir, 'future.db');
  const db = new Database(future);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => openSqliteLedger(future), /has schema v99, newer than this meter/);
});

test('a failed transaction leaves nothing behind, label sets included', async () => {
  const ledger = openSqliteLedger(tempLedgerPath());
  const batch = batchOf(0, [[0, makeSample({ start: T0, labels: { team: 'x' } })]]);
  // Force a failure after the samples and label set are written: the offset update aborts.
  ledger.db.exec('CREATE TRIGGER fail_offsets BEFORE INSERT ON offsets BEGIN SELECT RAISE(ABORT, \'boom\'); END');
  await assert.rejects(ledger.applyBatch(batch), /boom/);
  ledger.db.exec('DROP TRIGGER fail_offsets');
  assert.equal((ledger.db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n, 0);
  assert.equal((ledger.db.prepare('SELECT COUNT(*) AS n FROM label_sets').get() as { n: number }).n, 0);
  // Other labels now take the rolled-back id; the retried batch must still get its own labels.
  await ledger.applyBatch(batchOf(0, [[0, makeSample({ machine: 'other', start: T0, labels: { team: 'y' } })]]));
  await ledger.applyBatch(batchOf(3, [[0, makeSample({ start: T0, labels: { team: 'x' } })]]));
  assert.deepEqual(
    (await ledger.machines()).map((m) => [m.machine, m.labels]),
    [
      ['other', { team: 'y' }],
      ['web-1', { team: 'x' }],
    ],
  );
  await ledger.close();
});

test('two connections write one ledger in turn, and a read-only reader sees committed batches', async () => {
  const path = tempLedgerPath();
  const a = openSqliteLedger(path);
  const b = openSqliteLedger(path);
  const reader = openSqliteLedger(path, { readonly: true });
  await a.applyBatch(batchOf(0, [[0, makeSample({ machine: 'a', start: T0 })]]));
  await b.applyBatch(batchOf(1, [[0, makeSample({ machine: 'b', start: T0 })]]));
  await a.applyBatch(batchOf(1, [[0, makeSample({ machine: 'b', start: T0 })]]));
  assert.equal((await reader.counts()).samples, 2);
  assert.equal((await reader.offsets()).length, 2);
  assert.equal(reader.identity.id, a.identity.id, 'one ledger, one identity');
  await assert.rejects(reader.applyBatch(batchOf(0, [[1, makeSample({ start: T0 })]])), /read-only/);
  for (const l of [a, b, reader]) await l.close();
});

test('splitRange answers a range with whole months, whole hours and raw edges', async () => {
  const nov = Date.UTC(2026, 10, 1);
  const dec = Date.UTC(2026, 11, 1);
  const jan = Date.UTC(2027, 0, 1);
  assert.deepEqual(splitRange(nov, dec), { months: [[nov, dec]], hours: [], raw: [] });
  assert.deepEqual(splitRange(nov, jan), { months: [[nov, jan]], hours: [], raw: [] });
  assert.deepEqual(splitRange(nov + 1000, dec), {
    months: [],
    hours: [[nov + HOUR, dec]],
    raw: [[nov + 1000, nov + HOUR]],
  });
  assert.deepEqual(splitRange(dec - 2 * HOUR - 5, jan + HOUR + 7), {
    months: [[dec, jan]],
    hours: [
      [dec - 2 * HOUR, dec],
      [jan, jan + HOUR],
    ],
    raw: [
      [dec - 2 * HOUR - 5, dec - 2 * HOUR],
      [jan + HOUR, jan + HOUR + 7],
    ],
  });
  assert.deepEqual(splitRange(nov + 10, nov + 20), { months: [], hours: [], raw: [[nov + 10, nov + 20]] });
  assert.deepEqual(splitRange(nov + 10, nov + HOUR + 20), { months: [], hours: [], raw: [[nov + 10, nov + HOUR + 20]] });
  assert.deepEqual(splitRange(nov, nov), { months: [], hours: [], raw: [] });
});

test('a v3 ledger is migrated: samples split into runs, rollups rebuilt with coverage, nothing lost', async () => {
  const path = tempLedgerPath();
  const db = new Database(path);
  db.exec('CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  for (const m of MIGRATIONS.slice(0, 3)) db.exec(m.sql);
  db.pragma('user_version = 3');
  db.prepare("INSERT INTO label_sets (id, labels) VALUES (1, '{\"team\":\"a\"}'), (2, '{}')").run();
  db.prepare("INSERT INTO rate_cards (id, digest, currency, source, first_used_ms) VALUES (1, 'd', 'USD', 'defaults', 0)").run();
  const insert = db.prepare(`INSERT INTO samples (id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us, mem_used_bytes, mem_total_bytes,
    src_partition, src_offset, rate_card, cpu_micros, mem_micros) VALUES (?,?,?,?,?,?,?,?,?,0,?,1,0,0)`);
  const rows: [string, string, number, number][] = [
    ['web-1:1:0', 'web-1', 1, T0],
    ['web-1:1:1', 'web-1', 1, T0 + 5000],
    ['web-1:2:0', 'web-1', 1, T0 + HOUR],
    ['odd id', 'db-1', 2, T0 + 2 * HOUR],
    ['web-1:1:2', 'db-1', 2, T0 + 3 * HOUR],
  ];
  rows.forEach(([id, machine, labelSet, start], i) => insert.run(id, machine, labelSet, start, start + 5000, 4, 1_000_000 + i, 2 * GiB, 8 * GiB, i));
  db.exec("INSERT INTO counters (name, value) VALUES ('samples', 5)");
  db.close();
  const ledger = openSqliteLedger(path);
  assert.equal(ledger.db.pragma('user_version', { simple: true }), LEDGER_SCHEMA_VERSION);
  const raw = await ledger.rawSamples(T0 - HOUR, T0 + 5 * HOUR);
  assert.deepEqual(raw.map((r) => [r.machine, r.id, r.start]).sort(), rows.map(([id, machine, , start]) => [machine, id, start]).sort());
  const usage = await ledger.usage(T0 - HOUR, T0 + 23 * HOUR);
  assert.deepEqual(usage.map((u) => [u.machine, u.samples, u.cpuBusyUs, u.coveredMs, u.labels]), [
    ['db-1', 2, 2_000_007n, 10_000, {}],
    ['web-1', 3, 3_000_003n, 15_000, { team: 'a' }],
  ]);
  assert.deepEqual((await ledger.machines()).map((m) => [m.machine, m.samples]), [['db-1', 2], ['web-1', 3]]);
  assert.equal((await ledger.counts()).samples, 5);
  // The migrated ids still deduplicate.
  assert.equal((await ledger.applyBatch(batchOf(0, [[0, makeSample({ machine: 'web-1', seq: 1, agentStart: 1, start: T0 + 5000, cores: 4, busySeconds: 1.000001, usedBytes: 2 * GiB, totalBytes: 8 * GiB, labels: { team: 'a' } })]]))).duplicates, 1);
  await ledger.close();
});
