// The PostgreSQL engine against a real, private PostgreSQL: the shared contract, and what only many
// writers on one database can do (a zombie and its successor on one partition, migrations at once).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger, ledgerTarget, type Ledger } from '../../../src/ledger/index.js';
import { UsageError } from '../../../src/cli/errors.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../../src/ledger/postgres/schema.js';
import { createPool } from '../../../src/ledger/postgres/connect.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../../helpers/postgres.js';
import { makeSample } from '../worker/fixtures.js';
import { HOUR, T0, batchOf, ledgerContract } from './contract.js';
import { ledgerBillingContract } from './contract-billing.js';
import { historyContract } from './history-contract.js';

let pg: PrivatePostgres;
before(async () => {
  pg = await startPrivatePostgres();
  // The password reaches the client the way it reaches users': PGPASSWORD, never the URL.
  process.env.PGPASSWORD = pg.password;
});
after(() => pg?.stop());

const fresh = async (): Promise<Ledger> => openLedger(pg.createDatabase(uniqueDatabase('ledger')));

ledgerContract('postgres', fresh);
ledgerBillingContract('postgres', fresh);
historyContract('postgres', fresh);

test('postgres: a password in the URL is refused, and the name never shows one', () => {
  assert.throws(() => ledgerTarget('postgres://meter:s3cret@db.example:5432/billing'), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.doesNotMatch(e.message, /s3cret/);
    assert.match(e.message, /PGPASSWORD or PGPASSFILE/);
    return true;
  });
  assert.throws(() => ledgerTarget('postgres://meter@db.example/billing?password=s3cret'), /PGPASSWORD/);
  assert.equal(ledgerTarget('postgres://meter@db.example:5432/billing?sslmode=require').name, 'postgres://meter@db.example:5432/billing');
});

test('postgres: a wrong password, a missing database and no server are one line each', async () => {
  const url = pg.createDatabase(uniqueDatabase('auth'));
  process.env.PGPASSWORD = 'wrong';
  try {
    await assert.rejects(openLedger(url), /password authentication failed.*set the password in PGPASSWORD or PGPASSFILE/);
  } finally {
    process.env.PGPASSWORD = pg.password;
  }
  await assert.rejects(openLedger(pg.urlOn('127.0.0.1', 'no_such_db')), /does not exist; create it/);
  await assert.rejects(openLedger(`postgres://${pg.user}@127.0.0.1:1/x`), /cannot be reached .*; start PostgreSQL or check --ledger/);
  await assert.rejects(openLedger(pg.createDatabase(uniqueDatabase('empty')), { readonly: true }), /is not a meter ledger \(no schema\)/);
});

test('postgres: workers opening a new ledger at once migrate it once, and share one identity', async () => {
  const url = pg.createDatabase(uniqueDatabase('race'));
  const ledgers = await Promise.all(Array.from({ length: 6 }, () => openLedger(url)));
  assert.equal(new Set(ledgers.map((l) => l.identity.id)).size, 1);
  assert.equal(pg.psql("SELECT value FROM ledger_meta WHERE key = 'schema_version'", url.split('/').pop()), String(PG_SCHEMA_VERSION));
  await Promise.all(ledgers.map((l) => l.close()));
  const reader = await openLedger(url, { readonly: true });
  await assert.rejects(reader.applyBatch(batchOf(0, [[0, makeSample({ start: T0 })]])), /read-only/);
  await reader.close();
});

test('postgres: a zombie and its successor applying one partition at once apply each message once', async () => {
  const url = pg.createDatabase(uniqueDatabase('zombie'));
  const a = await openLedger(url);
  const b = await openLedger(url);
  try {
    // 40 batches of 50, each delivered to both connections at once, in interleaved order.
    const batches = Array.from({ length: 40 }, (_, k) =>
      batchOf(0, Array.from({ length: 50 }, (_, i) => [k * 50 + i, makeSample({ machine: `m${i % 5}`, seq: k * 50 + i, start: T0 + (k * 50 + i) * 1000 })] as [number, ReturnType<typeof makeSample>])),
    );
    let refused = 0;
    const run = async (ledger: Ledger, order: number[]) => {
      for (const k of order) {
        await ledger.applyBatch({ ...batches[k]!, fetchedOffset: k * 50 }).catch((e: Error) => {
          if (e.name !== 'LedgerGapError') throw e;
          refused++;
        });
      }
    };
    const order = batches.map((_, k) => k);
    await Promise.all([run(a, order), run(b, order)]);
    const counts = await a.counts();
    assert.equal(counts.samples, 2000);
    assert.equal(counts.duplicates, 0, 'a zombie re-applying a batch changes nothing');
    assert.equal(await a.nextOffset('billing', 'resource_usage', 0), 2000);
    assert.equal(pg.psql('SELECT COUNT(*) FROM samples', url.split('/').pop()), '2000');
    assert.equal(pg.psql('SELECT SUM(samples) FROM usage_hourly', url.split('/').pop()), '2000', 'rollups counted once');
    assert.equal(refused, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test('postgres: a connection the server ends mid-transaction fails that batch only; the process and the ledger go on', async () => {
  const url = pg.createDatabase(uniqueDatabase('terminated'));
  const ledger = await openLedger(url, { applicationName: 'meter-terminated' });
  const { default: Pg } = await import('pg');
  const blocker = new Pg.Client({ connectionString: url });
  await blocker.connect();
  try {
    await ledger.applyBatch(batchOf(0, [[0, makeSample({ start: T0 })]]));
    // Hold the partition's offset row, so the next batch waits inside its transaction...
    await blocker.query('BEGIN');
    await blocker.query("SELECT * FROM offsets WHERE partition = 0 FOR UPDATE");
    const waiting = ledger.applyBatch(batchOf(0, [[1, makeSample({ start: T0 + 5000 })]]));
    const settled = waiting.then(
      () => 'applied',
      (e: Error) => e.message,
    );
    for (let i = 0; i < 100 && (await blocker.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'meter-terminated' AND wait_event_type = 'Lock'")).rows[0].n === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    // ...and end that session from the server, as idle_in_transaction_session_timeout does to a cut-off worker.
    await blocker.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'meter-terminated'");
    assert.match(await settled, /terminat/i);
    await blocker.query('ROLLBACK');
    // A new connection from the pool: the batch applies now, once.
    assert.equal((await ledger.applyBatch(batchOf(0, [[1, makeSample({ start: T0 + 5000 })]]))).inserted, 1);
    assert.equal((await ledger.counts()).samples, 2);
  } finally {
    await blocker.end();
    await ledger.close();
  }
});

test('postgres: a v1 ledger is migrated: samples split into runs, rollups rebuilt with coverage, nothing lost', async () => {
  const url = pg.createDatabase(uniqueDatabase('v1'));
  const db = url.split('/').pop();
  pg.psql(`CREATE TABLE ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); ${PG_MIGRATIONS[0]!.sql}; INSERT INTO ledger_meta VALUES ('schema_version', '1')`, db);
  pg.psql(`INSERT INTO label_sets (id, labels) VALUES (1, '{"team":"a"}'), (2, '{}');
    INSERT INTO samples (id, machine, label_set, start_ms, end_ms, cores, cpu_busy_us, mem_used_bytes, mem_total_bytes, src_partition, src_offset, rate_card, cpu_micros, mem_micros) VALUES
    ('web-1:1:0', 'web-1', 1, ${T0}, ${T0 + 5000}, 4, 1000000, 1024, 4096, 0, 0, 1, 0, 0),
    ('web-1:1:1', 'web-1', 1, ${T0 + 5000}, ${T0 + 10000}, 4, 1000001, 1024, 4096, 0, 1, 1, 0, 0),
    ('odd id', 'db-1', 2, ${T0 + HOUR}, ${T0 + HOUR + 5000}, 4, 1000002, 1024, 4096, 0, 2, 1, 0, 0),
    ('web-1:1:2', 'db-1', 2, ${T0 + 2 * HOUR}, ${T0 + 2 * HOUR + 5000}, 4, 1000003, 1024, 4096, 0, 3, 1, 0, 0)`, db);
  const ledger = await openLedger(url);
  try {
    const raw = await ledger.rawSamples(T0 - HOUR, T0 + 5 * HOUR);
    assert.deepEqual(raw.map((r) => [r.machine, r.id]), [['db-1', 'odd id'], ['db-1', 'web-1:1:2'], ['web-1', 'web-1:1:0'], ['web-1', 'web-1:1:1']]);
    const usage = await ledger.usage(T0 - HOUR, T0 + 23 * HOUR);
    assert.deepEqual(usage.map((u) => [u.machine, u.samples, u.cpuBusyUs, u.coveredMs]), [['db-1', 2, 2_000_005n, 10_000], ['web-1', 2, 2_000_001n, 10_000]]);
    assert.deepEqual((await ledger.machines()).map((m) => [m.machine, m.samples]), [['db-1', 2], ['web-1', 2]]);
  } finally {
    await ledger.close();
  }
});

test('postgres: a worker session drops a cut-off client within seconds (TCP user timeout, keepalives) and ends an idle transaction', async () => {
  const pool = createPool(pg.createDatabase(uniqueDatabase('session')));
  process.env.PGPASSWORD ??= pg.password;
  try {
    const show = async (name: string) => (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
    assert.equal(await show('tcp_user_timeout'), '10000');
    assert.equal(await show('tcp_keepalives_idle'), '5');
    assert.equal(await show('tcp_keepalives_interval'), '2');
    assert.equal(await show('tcp_keepalives_count'), '3');
    assert.equal(await show('idle_in_transaction_session_timeout'), '10s');
  } finally {
    await pool.end();
  }
});
