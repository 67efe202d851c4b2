// The broker goes away while the worker consumes and comes back (same data): nothing lost, nothing
// billed twice. Runs on a private broker so the shared one stays up for the other tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPrivateBroker } from '../helpers/broker.js';
import type { Sample } from '../../src/schema/sample.js';
import { GiB, makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

test('a broker restart in the middle of consuming neither loses nor double-bills', { timeout: 240_000 }, async () => {
  const broker = await startPrivateBroker();
  const topic = uniqueName('worker-restart');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-restart-')), 'ledger.db');
  let worker: ReturnType<typeof startWorker> | undefined;
  try {
    await createTopic(broker.brokers, topic);
    const now = Date.now();
    const samples: Sample[] = [];
    for (let i = 0; i < 80_000; i++) {
      const m = i % 100;
      samples.push(makeSample({ machine: `vm-${m}`, seq: Math.floor(i / 100), start: now - 2 * 3_600_000 + Math.floor(i / 100) * 5000, cores: 2, busySeconds: 1, usedBytes: GiB }));
    }
    const asMessages = (list: Sample[]) => list.map((s) => ({ key: s.machine, value: JSON.stringify(s) }));
    kcatProduce(broker.brokers, topic, asMessages(samples.slice(0, 60_000)));
    worker = startWorker({ brokers: broker.brokers, topic, group, ledger, extra: ['--fetch-max-kb', '32'] });
    const w = worker;
    await waitFor('progress', async () => (await appliedCount(ledger, group)) > 0, 60_000, w.output);
    const atStop = await appliedCount(ledger, group);
    await broker.stop();
    await sleep(3000);
    await broker.start();
    // Some of it after the restart, and the same samples again (an agent replaying its spool).
    kcatProduce(broker.brokers, topic, [...asMessages(samples.slice(60_000)), ...asMessages(samples.slice(15_000, 16_000))]);
    const total = samples.length + 1000;
    await waitFor('the worker to apply everything after the restart', async () => (await appliedCount(ledger, group)) >= total, 150_000, w.output);
    assert.ok(atStop < 60_000, `the broker stopped mid-stream (${atStop} applied)`);
    const events = w.output().match(/"msg":"(consumer crashed|consumer running again|partitions assigned|ledger transaction failed[^"]*|batch refused[^"]*)"/g) ?? [];
    console.log(`applied ${atStop} before the broker stopped; worker events: ${events.join(', ')}`);
    assert.equal(await stopWorker(w), 0, w.output());
    const stats = (await statsOf(ledger))!;
    assert.equal(stats.samples, samples.length);
    assert.equal(stats.duplicates, 1000);
    assert.equal(stats.dlq.total, 0);
  } finally {
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await broker.dispose();
  }
});
