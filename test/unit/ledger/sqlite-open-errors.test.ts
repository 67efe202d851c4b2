// Why a SQLite ledger cannot be opened, as the ledger's own error classes (readers act on the class,
// never on the wording): not there, not a ledger, locked, a schema newer or older than this meter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  LedgerLockedError,
  LedgerNotFoundError,
  LedgerSchemaNewerError,
  LedgerSchemaOlderError,
  LedgerUnavailableError,
  NotALedgerError,
  ledgerErrorOf,
} from '../../../src/ledger/index.js';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { LEDGER_SCHEMA_VERSION } from '../../../src/ledger/sqlite/schema.js';
import { MeterError } from '../../../src/cli/errors.js';

const dir = () => mkdtempSync(join(tmpdir(), 'meter-ledger-errors-'));

function throwsA<T extends Error>(fn: () => unknown, type: new (...args: never[]) => T, message: RegExp): T {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.ok(caught instanceof MeterError, 'a MeterError: the CLI prints it as one line');
  assert.match(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/);
  return caught;
}

test('a missing file is LedgerNotFoundError, naming the ledger', () => {
  const path = join(dir(), 'nope.db');
  const e = throwsA(() => openSqliteLedger(path, { readonly: true }), LedgerNotFoundError, /not found; run `meter worker` first/);
  assert.equal(e.ledger, path);
});

test('a text file, an empty database and a directory are NotALedgerError', () => {
  const d = dir();
  const junk = join(d, 'junk.db');
  writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to be a header '.repeat(20));
  throwsA(() => openSqliteLedger(junk, { readonly: true }), NotALedgerError, /not a SQLite database/);
  throwsA(() => openSqliteLedger(junk), NotALedgerError, /not a SQLite database/);
  const empty = join(d, 'empty.db');
  new Database(empty).close();
  throwsA(() => openSqliteLedger(empty, { readonly: true }), NotALedgerError, /no schema/);
  throwsA(() => openSqliteLedger(d, { readonly: true }), NotALedgerError, /is a directory/);
});

test('a schema newer than this meter, or older for a reader, are their own classes with the versions', () => {
  const d = dir();
  const future = join(d, 'future.db');
  const db = new Database(future);
  db.pragma('user_version = 99');
  db.close();
  const newer = throwsA(() => openSqliteLedger(future), LedgerSchemaNewerError, /schema v99, newer than this meter.*upgrade meter/);
  assert.deepEqual([newer.version, newer.known], [99, LEDGER_SCHEMA_VERSION]);
  throwsA(() => openSqliteLedger(future, { readonly: true }), LedgerSchemaNewerError, /upgrade meter/);
  const old = join(d, 'old.db');
  const odb = new Database(old);
  odb.pragma('user_version = 1');
  odb.close();
  const older = throwsA(() => openSqliteLedger(old, { readonly: true }), LedgerSchemaOlderError, /schema v1; run `meter worker` once/);
  assert.equal(older.version, 1);
});

test('a ledger another connection holds exclusively is LedgerLockedError on open; a driver lock error is classified', async () => {
  const path = join(dir(), 'ledger.db');
  await openSqliteLedger(path).close();
  const holder = new Database(path);
  holder.pragma('locking_mode = EXCLUSIVE');
  holder.exec('BEGIN EXCLUSIVE');
  try {
    throwsA(() => openSqliteLedger(path, { readonly: true, busyTimeoutMs: 50 }), LedgerLockedError, /is locked by another process/);
    // What better-sqlite3 throws on a read while the file is held: ledgerErrorOf() names it for readers.
    const other = new Database(path, { readonly: true, timeout: 50 });
    let raw: unknown;
    try {
      other.prepare('SELECT COUNT(*) FROM samples').get();
    } catch (e) {
      raw = e;
    } finally {
      other.close();
    }
    assert.equal((raw as { code?: string }).code, 'SQLITE_BUSY');
    const typed = ledgerErrorOf(raw, path);
    assert.ok(typed instanceof LedgerLockedError);
    assert.ok(typed instanceof LedgerUnavailableError);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  const reader = openSqliteLedger(path, { readonly: true, busyTimeoutMs: 50 });
  assert.equal((await reader.counts()).samples, 0, 'readable once released');
  await reader.close();
  const other = new Error('something else');
  assert.equal(ledgerErrorOf(other, path), other, 'other errors pass through as they are');
});
