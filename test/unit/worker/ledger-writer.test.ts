import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LedgerGapError } from '../../../src/ledger/index.js';
import { openSqliteLedger } from '../../../src/ledger/sqlite/sqlite-ledger.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { ThreadLedgerWriter } from '../../../src/worker/ledger-writer.js';
import { packRows, unpackRows } from '../../../src/ledger/rows.js';
import { makeSample, message, tempLedgerPath } from './fixtures.js';

const NOW = Date.now();

test('the ledger thread applies batches in order, reports results and refuses gaps', async () => {
  const path = tempLedgerPath();
  const main = openSqliteLedger(path);
  const writer = await ThreadLedgerWriter.start(path);
  const preparer = new BatchPreparer();
  const batch = (from: number, count: number) => {
    const messages = Array.from({ length: count }, (_, i) => message(makeSample({ seq: from + i, start: NOW - 600_000 + (from + i) * 1000 }), from + i));
    messages.push(message('not json', from + count));
    const prepared = preparer.prepare(messages);
    return { group: 'g', topic: 't', partition: 0, fetchedOffset: from, lastOffset: from + count, ...prepared };
  };
  // Queued together, applied in order.
  const results = await Promise.all([writer.apply(batch(0, 10)), writer.apply(batch(11, 10)), writer.apply(batch(5, 10))]);
  assert.deepEqual(
    results.map((r) => [r.inserted, r.skipped, r.rejected, r.nextOffset]),
    [
      [10, 0, 1, 11],
      [10, 0, 1, 22],
      [0, 11, 0, 22],
    ],
  );
  await assert.rejects(writer.apply(batch(30, 5)), (e: unknown) => e instanceof LedgerGapError && e.nextOffset === 22);
  await writer.close();
  assert.equal((await main.counts()).samples, 20);
  assert.equal(await main.nextOffset('g', 't', 0), 22);
  await main.close();
});

test('a ledger thread that cannot open the ledger fails to start with the reason', async () => {
  // The parent "directory" is a file.
  const file = tempLedgerPath('not-a-dir');
  writeFileSync(file, 'x');
  await assert.rejects(ThreadLedgerWriter.start(join(file, 'ledger.db')), /ledger .* cannot be opened/);
});

test('rows packed for the ledger thread come back the same', () => {
  const preparer = new BatchPreparer();
  const messages = Array.from({ length: 50 }, (_, i) => message(makeSample({ machine: `m-${i % 3}`, seq: i, agentStart: i < 25 ? 1 : 2, start: NOW - 600_000 + i * 1000, labels: { team: `t${i % 2}` } }), i));
  const rows = preparer.prepare(messages).samples;
  const packed = packRows(rows);
  assert.equal(packed.strings.length, new Set([...rows.runs, ...rows.machines, ...rows.labels]).size, 'each distinct string once');
  assert.deepEqual(unpackRows(structuredClone(packed)), rows);
});
