// Messages that Kafka's retention deleted before the worker read them cannot be billed: the worker
// says so, counts them in the ledger, and goes on from where the log now starts (it does not stall).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { runMeter } from '../helpers/cli.js';
import { createKafka } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

test('a gap left by retention is reported and counted, and the worker goes on', { timeout: 120_000 }, async () => {
  const topic = uniqueName('worker-retention');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-retention-')), 'ledger.db');
  await createTopic(brokers, topic, 1);
  const now = Date.now();
  const messages = Array.from({ length: 2000 }, (_, i) => {
    const s = makeSample({ machine: `m${i % 10}`, seq: i, start: now - 3_600_000 + i * 1000 });
    return { key: s.machine, value: JSON.stringify(s) };
  });
  kcatProduce(brokers, topic, messages.slice(0, 1000));
  const first = startWorker({ brokers, topic, group, ledger });
  await waitFor('the first 1000', async () => (await appliedCount(ledger, group)) >= 1000, 60_000, first.output);
  assert.equal(await stopWorker(first), 0, first.output());

  // While no worker runs: more messages, and retention deletes everything before offset 1300.
  kcatProduce(brokers, topic, messages.slice(1000));
  const admin = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).admin();
  await admin.connect();
  try {
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1300' }] });
  } finally {
    await admin.disconnect();
  }

  const second = startWorker({ brokers, topic, group, ledger });
  try {
    await waitFor('the rest after the gap', async () => (await appliedCount(ledger, group)) >= 2000, 60_000, second.output);
  } finally {
    assert.equal(await stopWorker(second), 0, second.output());
  }
  assert.match(second.output(), /"msg":"messages were deleted by retention before the worker read them; they cannot be billed".*"fromOffset":1000,"toOffset":1299,"count":300/);
  const stats = (await statsOf(ledger))!;
  assert.equal(stats.lost, 300);
  assert.equal(stats.samples, 1700);
  // `meter invoice` says so, under the table and in JSON.
  const range = ['--from', new Date(now - 2 * 3_600_000).toISOString(), '--to', new Date(now + 3_600_000).toISOString()];
  const table = runMeter(['invoice', '--ledger', ledger, ...range]);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /300 Kafka offset\(s\) in this ledger were never billed: 300 deleted by retention before they were read, 0 passed over/);
  const json = runMeter(['invoice', '--ledger', ledger, ...range, '--format', 'json']);
  assert.deepEqual(JSON.parse(json.stdout).unbilledOffsets, { lost: 300, skipped: 0 });
});
