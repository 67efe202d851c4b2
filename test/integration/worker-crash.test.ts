// kill -9 the worker again and again while it consumes, restart it, and prove by the ledger and by
// the invoice that every sample was billed exactly once.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testBrokers } from '../helpers/broker.js';
import { kcatReadTopic } from '../helpers/kcat.js';
import { runMeter } from '../helpers/cli.js';
import type { Sample } from '../../src/schema/sample.js';
import type { Invoice } from '../../src/billing/index.js';
import { GiB, checkFlatInvoice, makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor } from './worker-harness.js';

let brokers: string;
before(async () => {
  brokers = await testBrokers();
});

test('kill -9 while consuming, restart, repeat: exactly once by the ledger and the invoice', { timeout: 240_000 }, async () => {
  const topic = uniqueName('worker-crash');
  const group = uniqueName('billing');
  const ledger = join(mkdtempSync(join(tmpdir(), 'meter-crash-')), 'ledger.db');
  await createTopic(brokers, topic);
  const now = Date.now();
  const valid: Sample[] = [];
  for (let i = 0; i < 40_000; i++) {
    const m = i % 200;
    const seq = Math.floor(i / 200);
    valid.push(
      makeSample({
        machine: `host-${m}`,
        labels: { team: `t${m % 4}` },
        seq,
        start: now - 2 * 3_600_000 + seq * 5000,
        cores: 4,
        busySeconds: ((i * 7919) % 20_000) / 1000,
        usedBytes: GiB + ((i * 104_729) % (4 * GiB)),
        totalBytes: 8 * GiB,
      }),
    );
  }
  const messages: { key: string | null; value: string }[] = [];
  let duplicates = 0;
  let invalid = 0;
  valid.forEach((s, i) => {
    messages.push({ key: s.machine, value: JSON.stringify(s) });
    if (i % 97 === 0) {
      messages.push({ key: s.machine, value: JSON.stringify(valid[Math.max(0, i - 300)]!) });
      if (valid[Math.max(0, i - 300)]!.machine === s.machine) duplicates++;
      else invalid++; // a sample under another machine's key: key-mismatch
    }
    if (i % 1000 === 500) {
      messages.push({ key: s.machine, value: `garbage ${i}` });
      invalid++;
    }
  });
  // Produced in rounds, as agents produce: each kill lands while there is still data to bill (a fast
  // worker drained a topic produced at once before the third kill).
  const ROUNDS = 6;
  const chunk = Math.ceil(messages.length / (ROUNDS + 1));
  kcatProduce(brokers, topic, messages.slice(0, chunk));

  // Small fetches: many small transactions, so a kill lands between and inside them.
  const extra = ['--fetch-max-kb', '32'];
  const killedAt: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    kcatProduce(brokers, topic, messages.slice((round + 1) * chunk, (round + 2) * chunk));
    const before = await appliedCount(ledger, group);
    const worker = startWorker({ brokers, topic, group, ledger, extra });
    await waitFor('progress', async () => (await appliedCount(ledger, group)) > before, 60_000, worker.output);
    await sleep(Math.floor(Math.random() * 150));
    worker.child.kill('SIGKILL');
    await worker.exited;
    killedAt.push(await appliedCount(ledger, group));
  }
  console.log(`killed at ${killedAt.join(', ')} of ${messages.length} messages applied`);
  const midStream = killedAt.filter((n) => n > 0 && n < messages.length);
  assert.ok(midStream.length >= 3, `killed mid-stream at ${killedAt.join(', ')} of ${messages.length}`);

  const last = startWorker({ brokers, topic, group, ledger, extra });
  try {
    await waitFor('the rest of the messages', async () => (await appliedCount(ledger, group)) >= messages.length, 120_000, last.output);
  } finally {
    assert.equal(await stopWorker(last), 0, last.output());
  }

  const stats = (await statsOf(ledger))!;
  assert.equal(await appliedCount(ledger, group), messages.length);
  assert.equal(stats.samples, valid.length, 'each sample once');
  assert.equal(stats.duplicates, duplicates, 'each duplicate seen once');
  assert.equal(stats.dlq.total, invalid, 'each invalid message counted once');

  const result = runMeter([
    'invoice',
    '--ledger',
    ledger,
    '--from',
    new Date(now - 3 * 3_600_000).toISOString(),
    '--to',
    new Date(now + 3_600_000).toISOString(),
    '--format',
    'json',
  ]);
  assert.equal(result.status, 0, result.stderr);
  const invoice = JSON.parse(result.stdout) as Invoice;
  assert.equal(invoice.lines.length, 200);
  checkFlatInvoice(invoice, valid, 31_611n, 4_237n);

  // The DLQ may repeat a message sent just before a kill, but misses none.
  const dlq = kcatReadTopic(brokers, `${topic}.dlq`);
  const distinct = new Set(dlq.map((m) => `${m.headers['meter-source-partition']}:${m.headers['meter-source-offset']}`));
  assert.equal(distinct.size, invalid);
});
