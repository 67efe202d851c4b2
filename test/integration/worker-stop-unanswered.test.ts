// A stop while the broker does not answer (frozen with SIGSTOP: its connections stay open and nothing
// comes back, as in a network cut): the worker still stops within its goodbye bound, says why, and
// leaves the ledger whole. It took a minute, two request timeouts, without a word.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateBroker } from '../helpers/broker.js';
import type { Sample } from '../../src/schema/sample.js';
import { GOODBYE_MS } from '../../src/worker/run-worker.js';
import { GiB, makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, uniqueName, waitFor } from './worker-harness.js';

test('a stop while the broker does not answer ends within the goodbye bound, and the ledger is whole', { timeout: 180_000 }, async () => {
  const broker = await startPrivateBroker();
  const brokerPid = Number(readFileSync(join(broker.dataDir, 'broker.pid'), 'utf8').trim());
  const topic = uniqueName('worker-unanswered');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-unanswered-')), 'ledger.db');
  let worker: ReturnType<typeof startWorker> | undefined;
  let frozen = false;
  try {
    await createTopic(broker.brokers, topic);
    const now = Date.now();
    const samples: Sample[] = [];
    for (let i = 0; i < 3000; i++) {
      samples.push(makeSample({ machine: `vm-${i % 30}`, seq: Math.floor(i / 30), start: now - 3_600_000 + Math.floor(i / 30) * 5000, cores: 2, busySeconds: 1, usedBytes: GiB }));
    }
    kcatProduce(broker.brokers, topic, samples.map((s) => ({ key: s.machine, value: JSON.stringify(s) })));
    worker = startWorker({ brokers: broker.brokers, topic, group, ledger });
    const w = worker;
    await waitFor('the worker to apply every sample', async () => (await appliedCount(ledger, group)) >= samples.length, 90_000, w.output);

    process.kill(brokerPid, 'SIGSTOP');
    frozen = true;
    const stoppedAt = Date.now();
    w.child.kill('SIGTERM');
    const killer = setTimeout(() => w.child.kill('SIGKILL'), 60_000);
    const code = await w.exited;
    clearTimeout(killer);
    const tookMs = Date.now() - stoppedAt;

    assert.equal(code, 0, w.output());
    // The bound, the forced exit 2 s after the worker returns, the ledger's close and a loaded machine.
    assert.ok(tookMs < GOODBYE_MS + 10_000, `stopped in ${(tookMs / 1000).toFixed(1)} s, over the ${GOODBYE_MS / 1000} s bound: ${w.output().slice(-2000)}`);
    assert.match(w.output(), /Kafka did not answer within \d+ s of the stop/);
    assert.match(w.output(), /"msg":"worker stopped"/);
    const stats = (await statsOf(ledger))!;
    assert.equal(stats.samples, samples.length);
    assert.equal(await appliedCount(ledger, group), samples.length);
  } finally {
    if (frozen) process.kill(brokerPid, 'SIGCONT');
    if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await broker.dispose();
  }
});
