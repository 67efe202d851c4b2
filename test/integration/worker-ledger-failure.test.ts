// A ledger transaction that fails (here: a trigger that aborts it, standing in for a full disk or a
// lock held too long) costs a retry, not a sample: the worker backs off, reads the batch again from
// the ledger's offset, and once the ledger accepts writes again every sample is there once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { openSqliteLedger } from '../../src/ledger/sqlite/sqlite-ledger.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

test('failed ledger transactions are retried from the ledger offset, nothing lost or doubled', { timeout: 120_000 }, async () => {
  const topic = uniqueName('worker-ledger-failure');
  const group = uniqueName('billing');
  const path = join(mkdtempSync(join(tmpdir(), 'meter-ledger-failure-')), 'ledger.db');
  await createTopic(brokers, topic, 2);
  const now = Date.now();
  const messages = Array.from({ length: 6000 }, (_, i) => {
    const s = makeSample({ machine: `m${i % 12}`, seq: i, start: now - 3_600_000 + i * 500 });
    return { key: s.machine, value: JSON.stringify(s) };
  });
  kcatProduce(brokers, topic, messages.slice(0, 3000));

  // Let the first batches in, then make every transaction fail for a while.
  const worker = startWorker({ brokers, topic, group, ledger: path, extra: ['--fetch-max-kb', '16'] });
  try {
    await waitFor('some progress', async () => (await appliedCount(path, group)) > 0, 60_000, worker.output);
    const ledger = openSqliteLedger(path);
    ledger.db.exec("CREATE TRIGGER refuse BEFORE UPDATE ON offsets BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END");
    kcatProduce(brokers, topic, messages.slice(3000));
    await waitFor('failed transactions', () => (worker.output().match(/ledger transaction failed/g) ?? []).length >= 3, 60_000, worker.output);
    const stalled = await appliedCount(path, group);
    ledger.db.exec('DROP TRIGGER refuse');
    await ledger.close();
    assert.ok(stalled < messages.length);
    await waitFor('everything after the ledger recovers', async () => (await appliedCount(path, group)) >= messages.length, 60_000, worker.output);
  } finally {
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
  assert.match(worker.output(), /"msg":"ledger transaction failed; the batch will be read again".*disk full \(simulated\)/);
  const stats = (await statsOf(path))!;
  assert.equal(stats.samples, messages.length);
  assert.equal(stats.duplicates, 0);
});
