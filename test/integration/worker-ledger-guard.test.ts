// Never two ledgers for one group, and never a silent skip of a partition's first batch.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { runMeter } from '../helpers/cli.js';
import { openSqliteLedger } from '../../src/ledger/sqlite/sqlite-ledger.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, committedOffsets, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

function samples(count: number, offset = 0) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const s = makeSample({ machine: `m${(offset + i) % 9}`, seq: offset + i, start: now - 3_600_000 + (offset + i) * 500 });
    return { key: s.machine, value: JSON.stringify(s) };
  });
}

function invoiceJson(ledger: string): string {
  const r = runMeter(['invoice', '--ledger', ledger, '--from', new Date(Date.now() - 3 * 3_600_000).toISOString(), '--to', new Date(Date.now() + 3_600_000).toISOString(), '--format', 'json']);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('a second worker in the group with another SQLite file refuses in one line, exit 2, and bills nothing', { timeout: 180_000 }, async () => {
  const topic = uniqueName('guard');
  const group = uniqueName('billing');
  const dir = mkdtempSync(join(tmpdir(), 'meter-guard-'));
  const first = join(dir, 'first.db');
  const second = join(dir, 'second.db');
  await createTopic(brokers, topic, 3);
  kcatProduce(brokers, topic, samples(3000));
  const a = startWorker({ brokers, topic, group, ledger: first });
  try {
    await waitFor('the first worker to bill everything', async () => (await appliedCount(first, group)) >= 3000, 90_000, a.output);
    const before = invoiceJson(first);
    const b = startWorker({ brokers, topic, group, ledger: second });
    const code = await b.exited;
    assert.equal(code, 2, b.output());
    const lines = b.output().split('\n').filter((l) => l.startsWith('meter: '));
    assert.equal(lines.length, 1, b.output());
    assert.match(lines[0]!, new RegExp(`^meter: group ${group} bills ${topic} into another ledger, ${first.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} on \\S+ \\(partition \\d\\), not ${second.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} on \\S+; run every worker of the group with that --ledger, or give this ledger its own --group$`));
    assert.doesNotMatch(b.output(), /\n\s+at /, 'no stack trace');
    const secondStats = await statsOf(second);
    assert.equal(secondStats?.samples ?? 0, 0, 'the refused worker billed nothing');
    // The first worker goes on: more samples are billed into its ledger only, once each.
    kcatProduce(brokers, topic, samples(600, 3000));
    await waitFor('the first worker to bill the rest', async () => (await appliedCount(first, group)) >= 3600, 90_000, a.output);
    assert.equal((await statsOf(first))!.samples, 3600);
    assert.equal((await statsOf(first))!.duplicates, 0);
    assert.notEqual(invoiceJson(first), before, 'the invoice moved on with the new samples only');
    // Kafka's committed offsets name the first ledger.
    const committed = await committedOffsets(brokers, group, topic);
    assert.equal([...committed.values()].reduce((x, y) => x + y, 0), 3600);
  } finally {
    assert.equal(await stopWorker(a), 0, a.output());
  }
});

test("a partition's failing first transaction does not lose its batch: it is claimed at the log start and read again", { timeout: 180_000 }, async () => {
  const topic = uniqueName('first-batch');
  const group = uniqueName('billing');
  const path = join(mkdtempSync(join(tmpdir(), 'meter-first-')), 'ledger.db');
  await createTopic(brokers, topic, 1);
  // A ledger that refuses every sample for now (standing in for a locked or full disk).
  const setup = openSqliteLedger(path);
  setup.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'ledger locked (simulated)'); END");
  kcatProduce(brokers, topic, samples(2000));
  const worker = startWorker({ brokers, topic, group, ledger: path, extra: ['--fetch-max-kb', '16'] });
  try {
    await waitFor('failed first transactions', () => (worker.output().match(/ledger transaction failed/g) ?? []).length >= 2, 60_000, worker.output);
    // The partition's start is in the ledger although nothing was billed: later batches cannot step over it.
    assert.equal(await setup.nextOffset(group, topic, 0), 0);
    assert.equal((await setup.counts()).samples, 0);
    setup.db.exec('DROP TRIGGER refuse');
    await waitFor('every sample', async () => (await appliedCount(path, group)) >= 2000, 90_000, worker.output);
  } finally {
    await setup.close();
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
  const stats = (await statsOf(path))!;
  assert.equal(stats.samples, 2000);
  assert.equal(stats.duplicates, 0);
});
