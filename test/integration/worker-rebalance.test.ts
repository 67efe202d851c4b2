// Two workers in one group share the partitions and the ledger file; one stops, the other takes
// over its partitions and finishes the work, every sample billed once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testBrokers } from '../helpers/broker.js';
import { runMeter } from '../helpers/cli.js';
import type { Sample } from '../../src/schema/sample.js';
import type { Invoice } from '../../src/billing/index.js';
import { GiB, checkFlatInvoice, makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

function assignments(output: string): number[][] {
  return output
    .split('\n')
    .filter((l) => l.includes('"msg":"partitions assigned"'))
    .map((l) => (JSON.parse(l) as { partitions: number[] }).partitions);
}

test('two workers share the partitions; one stops and the other finishes the work', { timeout: 180_000 }, async () => {
  const topic = uniqueName('worker-rebalance');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-rebalance-')), 'ledger.db');
  await createTopic(brokers, topic);
  const now = Date.now();
  const samples: Sample[] = [];
  for (let i = 0; i < 60_000; i++) {
    const m = i % 120;
    const seq = Math.floor(i / 120);
    samples.push(
      makeSample({
        machine: `node-${m}`,
        seq,
        start: now - 3 * 3_600_000 + seq * 5000,
        cores: 2,
        busySeconds: (i % 9000) / 1000,
        usedBytes: GiB + i,
        totalBytes: 4 * GiB,
      }),
    );
  }
  const first = samples.slice(0, 30_000);
  const second = samples.slice(30_000);
  const asMessages = (list: Sample[]) => list.map((s) => ({ key: s.machine, value: JSON.stringify(s) }));
  kcatProduce(brokers, topic, asMessages(first));

  const extra = ['--fetch-max-kb', '64'];
  const a = startWorker({ brokers, topic, group, ledger, extra });
  let b: ReturnType<typeof startWorker> | undefined;
  try {
    await waitFor('worker A to make progress', async () => (await appliedCount(ledger, group)) > 0, 60_000, a.output);
    b = startWorker({ brokers, topic, group, ledger, extra });
    const workerB = b;
    // The group rebalances: both hold partitions, and both write the one ledger.
    await waitFor(
      'both workers to hold partitions',
      () => (assignments(a.output()).at(-1)?.length ?? 0) > 0 && (assignments(workerB.output()).at(-1)?.length ?? 0) > 0,
      60_000,
      () => a.output() + workerB.output(),
    );
    const shared = [...assignments(a.output()).at(-1)!, ...assignments(workerB.output()).at(-1)!].sort();
    assert.deepEqual(shared, [0, 1, 2], 'the partitions are split between the two');
    assert.equal(await stopWorker(a), 0, a.output());

    kcatProduce(brokers, topic, asMessages(second));
    await waitFor('worker B to finish the work', async () => (await appliedCount(ledger, group)) >= samples.length, 120_000, workerB.output);
    assert.deepEqual(assignments(workerB.output()).at(-1), [0, 1, 2], 'B took over every partition');
  } finally {
    if (a.child.exitCode === null) await stopWorker(a);
    if (b) assert.equal(await stopWorker(b), 0, b.output());
  }

  const stats = (await statsOf(ledger))!;
  assert.equal(stats.samples, samples.length);
  assert.equal(stats.duplicates, 0);
  assert.equal(await appliedCount(ledger, group), samples.length);
  const result = runMeter(['invoice', '--ledger', ledger, '--from', new Date(now - 4 * 3_600_000).toISOString(), '--to', new Date(now + 3_600_000).toISOString(), '--format', 'json']);
  assert.equal(result.status, 0, result.stderr);
  const invoice = JSON.parse(result.stdout) as Invoice;
  assert.equal(invoice.lines.length, 120);
  checkFlatInvoice(invoice, samples, 31_611n, 4_237n);
});
