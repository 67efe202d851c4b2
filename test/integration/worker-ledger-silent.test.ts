// A PostgreSQL ledger whose connections go silent mid-transaction, as they do when a processor host is
// cut off and the server ends its sessions while the host cannot hear it: the worker's side of each
// connection is still open and never hears another byte. The worker used to wait on such a
// connection for TCP's keepalive (two hours): the partition stalled without a word, and a stop hung
// until it was killed. Here a proxy in front of a private PostgreSQL does the silencing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { testBrokers } from '../helpers/broker.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../helpers/postgres.js';
import { startSilentProxy, type SilentProxy } from '../helpers/silent-proxy.js';
import type { Sample } from '../../src/schema/sample.js';
import { GOODBYE_MS, LEDGER_STOP_MS } from '../../src/worker/run-worker.js';
import { GiB, makeSample } from '../unit/worker/fixtures.js';
import { appliedCount, createTopic, kcatProduce, startWorker, statsOf, stopWorker, uniqueName, waitFor, type WorkerProcess } from './worker-harness.js';

let brokers: string;
let pg: PrivatePostgres;
let proxy: SilentProxy;

before(async () => {
  brokers = await testBrokers();
  pg = await startPrivatePostgres();
  proxy = await startSilentProxy({ host: '127.0.0.1', port: pg.port });
  process.env.PGPASSWORD = pg.password;
});

after(async () => {
  await proxy?.close();
  pg?.stop();
});

/** A topic with a backlog, and a fresh ledger reached through the proxy. */
async function setUp(name: string, count: number) {
  const topic = uniqueName(name);
  const group = uniqueName('billing');
  const direct = pg.createDatabase(uniqueDatabase(name.replace(/-/g, '_')));
  const ledger = direct.replace(`:${pg.port}/`, `:${proxy.port}/`);
  await createTopic(brokers, topic, 3);
  const now = Date.now();
  const samples: Sample[] = [];
  for (let i = 0; i < count; i++) {
    samples.push(makeSample({ machine: `vm-${i % 60}`, seq: Math.floor(i / 60), start: now - 3_600_000 + Math.floor(i / 60) * 1000, cores: 2, busySeconds: 0.5, usedBytes: GiB }));
  }
  kcatProduce(brokers, topic, samples.map((s) => ({ key: s.machine, value: JSON.stringify(s) })));
  const start = (extra: string[] = []) => startWorker({ brokers, topic, group, ledger, env: { PGPASSWORD: pg.password }, extra: ['--fetch-max-kb', '8', ...extra] });
  return { topic, group, direct, samples, start };
}

/** The statement that opens each batch's transaction in the PostgreSQL ledger (apply.ts). */
const BATCH_MARK = 'pg_advisory_xact_lock_shared';

async function checkBilledOnce(ledger: string, group: string, samples: Sample[]): Promise<void> {
  const stats = (await statsOf(ledger))!;
  assert.equal(stats.samples, samples.length, 'every sample billed');
  assert.equal(stats.duplicates, 0, 'none billed twice');
  assert.equal(await appliedCount(ledger, group), samples.length);
}

test('ledger connections that go silent mid-transaction are dropped after --ledger-timeout, and billing goes on: nothing lost or doubled', { timeout: 180_000 }, async () => {
  const { group, direct, samples, start } = await setUp('ledger-silent', 12_000);
  // At the second batch's first statement: the cut is over when the worker notices, so new
  // connections go through while the old ones never answer. A cut timed from outside, after some
  // progress, could land after a fast worker had billed everything.
  const cut = proxy.silenceAt(BATCH_MARK, 2, { cutOff: false });
  const worker = start(['--ledger-timeout', '3']);
  let code: number | null = null;
  try {
    await waitFor('the cut', cut, 90_000, worker.output);
    await waitFor('every sample, on new connections', async () => (await appliedCount(direct, group)) >= samples.length, 90_000, () => worker.output().slice(-3000));
  } finally {
    code = await stopWorker(worker);
  }
  assert.equal(code, 0, worker.output().slice(-3000));
  assert.match(worker.output(), /ledger transaction failed; the batch will be read again.*sent nothing for 3 s: its connection is taken for lost/);
  await checkBilledOnce(direct, group, samples);
});

test('a stop while the ledger does not answer ends within its bound, says so, and the next worker bills the rest once', { timeout: 180_000 }, async () => {
  const { group, direct, samples, start } = await setUp('ledger-silent-stop', 30_000);
  // Cut off at the second batch, with the rest in hand: every connection, old and new, goes unanswered.
  const cut = proxy.silenceAt(BATCH_MARK, 2, { cutOff: true });
  let worker: WorkerProcess = start();
  try {
    await waitFor('the cut', cut, 90_000, worker.output);
    const before = await appliedCount(direct, group);
    assert.ok(before < samples.length, 'a backlog remains, so the worker has batches in hand');
    const stoppedAt = Date.now();
    const code = await stopWorker(worker, 60_000);
    const tookMs = Date.now() - stoppedAt;
    console.log(`stopped in ${(tookMs / 1000).toFixed(1)} s with the ledger silent`);
    assert.equal(code, 0, worker.output().slice(-3000));
    // The ledger's bound, Kafka's goodbye (answered at once here), the forced exit 2 s after, a loaded machine.
    assert.ok(tookMs < LEDGER_STOP_MS + 10_000, `stopped in ${(tookMs / 1000).toFixed(1)} s: ${worker.output().slice(-2000)}`);
    assert.ok(tookMs < LEDGER_STOP_MS + GOODBYE_MS);
    assert.match(worker.output(), /the ledger did not finish the batches in hand within \d+ s of the stop: stopped without them/);
    assert.match(worker.output(), /"msg":"worker stopped"/);

    proxy.restore();
    worker = start();
    await waitFor('the next worker to bill the rest', async () => (await appliedCount(direct, group)) >= samples.length, 120_000, () => worker.output().slice(-3000));
    assert.equal(await stopWorker(worker), 0, worker.output().slice(-3000));
  } finally {
    proxy.restore();
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  }
  await checkBilledOnce(direct, group, samples);
});
