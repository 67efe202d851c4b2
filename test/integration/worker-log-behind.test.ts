// The topic deleted and re-created under a running worker: its log now ends below the ledger's
// offsets. The worker stops those partitions with a clear error instead of skipping the new messages
// silently; `meter ledger offsets --reset-to-log start` records the recovery, and the worker resumes
// by itself and bills the new log, once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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

const batch = (from: number, count: number, machinePrefix: string) => {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const s = makeSample({ machine: `${machinePrefix}${(from + i) % 4}`, seq: from + i, start: now - 3_600_000 + (from + i) * 500 });
    return { key: s.machine, value: JSON.stringify(s) };
  });
};

test('a topic re-created under the worker stops its partitions with a clear error; the recovery command resumes them', { timeout: 240_000 }, async () => {
  const topic = uniqueName('log-behind');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-log-behind-')), 'ledger.db');
  await createTopic(brokers, topic, 1);
  kcatProduce(brokers, topic, batch(0, 2000, 'old-'));
  const worker = startWorker({ brokers, topic, group, ledger });
  try {
    await waitFor('the old log billed', async () => (await appliedCount(ledger, group)) >= 2000, 90_000, worker.output);
    const admin = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [topic] });
      for (let i = 0; i < 100 && (await admin.listTopics()).includes(topic); i++) await sleep(100);
    } finally {
      await admin.disconnect();
    }
    await createTopic(brokers, topic, 1);
    // Fewer messages than the ledger has seen: every new offset is below the ledger's.
    kcatProduce(brokers, topic, batch(0, 200, 'new-'));
    await waitFor('the partition to stop', () => /partition stopped: /.test(worker.output()), 120_000, worker.output);
    assert.match(worker.output(), /partition stopped: partition 0's log ends at offset \d+, behind the ledger's next offset \d+: the topic was re-created or the broker's data lost; nothing of it is billed until the ledger's offset is reset: meter ledger offsets --ledger '[^']+' --group \S+ --topic \S+ --partition 0 --reset-to-log start/);
    await sleep(3000);
    const stalled = (await statsOf(ledger))!;
    assert.equal(stalled.samples, 2000, 'nothing of the new log billed silently');

    const show = runMeter(['ledger', 'offsets', '--ledger', ledger, '--group', group, '--topic', topic, '--brokers', brokers]);
    assert.equal(show.status, 0, show.stderr);
    assert.match(show.stdout, /LOG BEHIND LEDGER/);
    const reset = runMeter(['ledger', 'offsets', '--ledger', ledger, '--group', group, '--topic', topic, '--brokers', brokers, '--reset-to-log', 'start', '--reason', 'topic re-created in the test']);
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(reset.stdout, /^reset partition 0: 2000 -> 0, 0 offset\(s\) passed over unbilled; recorded in the ledger$/m);

    // The worker resumes by itself and bills the new log once.
    await waitFor('the new log billed', async () => ((await statsOf(ledger))?.samples ?? 0) >= 2200, 90_000, worker.output);
    assert.match(worker.output(), /partition resumed/);
  } finally {
    assert.equal(await stopWorker(worker), 0, worker.output());
  }
  const stats = (await statsOf(ledger))!;
  assert.equal(stats.samples, 2200);
  assert.equal(stats.duplicates, 0);
  const history = runMeter(['ledger', 'offsets', '--ledger', ledger, '--group', group, '--topic', topic, '--brokers', brokers, '--format', 'json']);
  const json = JSON.parse(history.stdout) as { history: { reason: string }[]; partitions: { state: string }[] };
  assert.equal(json.history.length, 1);
  assert.match(json.history[0]!.reason, /topic re-created in the test \(reset to the log start, log 0\.\.\d+\)/);
  assert.ok(json.partitions.every((p) => p.state === 'ok'));
});
