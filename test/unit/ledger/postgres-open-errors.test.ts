// Why a PostgreSQL ledger cannot be opened, as the ledger's own error classes, against a real, private
// PostgreSQL: no such database, no schema, a schema newer or older than this meter, no server, and a
// lock timeout classified for readers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import {
  LedgerLockedError,
  LedgerNotFoundError,
  LedgerSchemaNewerError,
  LedgerSchemaOlderError,
  LedgerUnreachableError,
  NotALedgerError,
  ledgerErrorOf,
  openLedger,
} from '../../../src/ledger/index.js';
import { PG_SCHEMA_VERSION } from '../../../src/ledger/postgres/schema.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../../helpers/postgres.js';

let server: PrivatePostgres;
before(async () => {
  server = await startPrivatePostgres();
  process.env.PGPASSWORD = server.password;
});
after(() => server?.stop());

async function rejectsWith<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T, message: RegExp): Promise<T> {
  let caught: unknown;
  await promise.then(
    (ledger) => (ledger as { close?: () => Promise<void> }).close?.(),
    (error: unknown) => (caught = error),
  );
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/);
  return caught;
}

test('postgres: a missing database, no schema and no server are their own classes', async () => {
  await rejectsWith(openLedger(server.urlOn('127.0.0.1', 'no_such_db'), { readonly: true }), LedgerNotFoundError, /does not exist; create it/);
  await rejectsWith(openLedger(server.createDatabase(uniqueDatabase('empty')), { readonly: true }), NotALedgerError, /not a meter ledger \(no schema\)/);
  await rejectsWith(openLedger(`postgres://${server.user}@127.0.0.1:1/x`, { readonly: true }), LedgerUnreachableError, /cannot be reached/);
});

test('postgres: a schema newer than this meter (any open) or older (a reader) are their own classes', async () => {
  const name = uniqueDatabase('versions');
  const url = server.createDatabase(name);
  await (await openLedger(url)).close();
  server.psql(`UPDATE ledger_meta SET value = '${PG_SCHEMA_VERSION + 5}' WHERE key = 'schema_version'`, name);
  const newer = await rejectsWith(openLedger(url), LedgerSchemaNewerError, /newer than this meter.*upgrade meter/);
  assert.equal(newer.version, PG_SCHEMA_VERSION + 5);
  await rejectsWith(openLedger(url, { readonly: true }), LedgerSchemaNewerError, /upgrade meter/);
  if (PG_SCHEMA_VERSION > 1) {
    server.psql(`UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'`, name);
    await rejectsWith(openLedger(url, { readonly: true }), LedgerSchemaOlderError, /run `meter worker` once to migrate/);
  }
});

test('postgres: a lock timeout on a read is classified as LedgerLockedError', async () => {
  const name = uniqueDatabase('locks');
  const url = server.createDatabase(name);
  await (await openLedger(url)).close();
  const holder = new pg.Client({ connectionString: url });
  const waiter = new pg.Client({ connectionString: url });
  await Promise.all([holder.connect(), waiter.connect()]);
  try {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE offsets IN ACCESS EXCLUSIVE MODE');
    await waiter.query(`SET lock_timeout = '100ms'`);
    let raw: unknown;
    await waiter.query('SELECT COUNT(*) FROM offsets').catch((e: unknown) => (raw = e));
    assert.equal((raw as { code?: string }).code, '55P03');
    assert.ok(ledgerErrorOf(raw, 'ledger') instanceof LedgerLockedError);
  } finally {
    await holder.query('ROLLBACK').catch(() => {});
    await Promise.all([holder.end(), waiter.end()]);
  }
});
