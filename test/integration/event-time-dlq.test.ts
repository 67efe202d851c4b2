// Event time and the DLQ against a real broker.
// - The same log consumed into two fresh ledgers (SQLite, and PostgreSQL), by workers whose clocks are
//   three days apart, gives the identical invoice digest: whether a sample is too late or from the
//   future is judged against its Kafka message timestamp, never the worker's clock.
// - `meter dlq list` shows the DLQ by reason beside the ledger's counts; `meter dlq replay --reason`
//   feeds messages back after a fix (a wider window), and replaying twice bills nothing twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partitioners } from 'kafkajs';
import { testBrokers } from '../helpers/broker.js';
import { runMeter } from '../helpers/cli.js';
import { startPrivatePostgres, uniqueDatabase, type PrivatePostgres } from '../helpers/postgres.js';
import { createKafka } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';
import { openLedger } from '../../src/ledger/index.js';
import { addLedgerPriceVersion, computeInvoice, parseRateCard } from '../../src/billing/index.js';
import { runWorker } from '../../src/worker/run-worker.js';
import type { Sample } from '../../src/schema/sample.js';
import { makeSample } from '../unit/worker/fixtures.js';
import { recordingLogger } from '../unit/worker/recording-logger.js';
import { uniqueName, waitFor } from './worker-harness.js';

const DAY = 86_400_000;
let brokers: string;
let pg: PrivatePostgres;
before(async () => {
  brokers = await testBrokers();
  pg = await startPrivatePostgres();
  process.env.PGPASSWORD = pg.password;
});
after(() => pg?.stop());

const card = parseRateCard({ cpu: { tiers: [{ upTo: 2, price: '0.5' }, { price: '0.031611' }] }, memory: '0.004237' });

/** Consumes `topic` into `ledger` with a worker whose clock is `skewMs` off, until `count` offsets are applied. */
async function consume(topic: string, group: string, ledger: string, count: number, skewMs: number, lateLimitMs = 35 * DAY): Promise<void> {
  let stop!: () => void;
  const stopSignal = new Promise<string>((resolve) => (stop = () => resolve('done')));
  let applied = 0;
  // What the worker said, to show when it falls short (a flake under load must say why).
  const logger = recordingLogger();
  const done = runWorker({
    connection: { brokers: [brokers], clientId: 'meter-test-worker' },
    topic,
    group,
    ledger,
    rateCard: card,
    acceptance: { aheadMs: 5 * 60_000, backMs: lateLimitMs },
    partitions: 3,
    logger,
    stopSignal,
    sessionTimeoutMs: 6000,
    now: () => Date.now() + skewMs,
    onBatch: (r) => {
      applied += r.inserted + r.duplicates + r.rejected + r.skipped;
      if (applied >= count) stop();
    },
  });
  const timer = setTimeout(stop, 90_000);
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
  const said = logger.lines.slice(-40).map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.fields ?? {})}`);
  assert.ok(applied >= count, `applied ${applied} of ${count}; the worker's last words:\n${said.join('\n')}`);
}

/**
 * The test's topic, keeping its messages however old their timestamps: these are a month old, as on a
 * topic replayed from a month back, and a broker's default retention (7 days, judged by the newest
 * timestamp in a segment) deletes them at its next retention check, which comes every 5 minutes:
 * sometimes between the produce and the worker's first fetch, and then the worker finds nothing.
 */
async function createTopicKeepingOldMessages(topic: string): Promise<void> {
  const admin = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: -1, configEntries: [{ name: 'retention.ms', value: '-1' }] }] });
  } finally {
    await admin.disconnect();
  }
}

test('the same log into two fresh ledgers, days apart: the identical invoice digest; then the DLQ listed and replayed', { timeout: 300_000 }, async () => {
  const topic = uniqueName('event-time');
  await createTopicKeepingOldMessages(topic);
  // Windows 33.5 days before now, each produced (timestamped) as it ended: inside the 35-day window
  // by their own timestamps, though a clock three days later would call them 36.5 days old.
  const base = Date.now() - 33.5 * DAY;
  const samples: Sample[] = [];
  for (let i = 0; i < 120; i++) {
    for (const machine of ['web-1', 'web-2', 'db-1']) {
      samples.push(makeSample({ machine, labels: { team: machine.startsWith('web') ? 'search' : 'storage' }, seq: i, start: base + i * 60_000, windowMs: 60_000, busySeconds: 30 + (i % 7), usedBytes: 2 ** 30 * (1 + (i % 3)) }));
    }
  }
  const tooLate = makeSample({ machine: 'web-1', seq: 999, start: base - 40 * DAY, windowMs: 60_000 });
  const future = makeSample({ machine: 'db-1', seq: 998, start: base + 30 * 60_000, windowMs: 60_000 });
  const producer = createKafka({ brokers: [brokers], clientId: 'meter-test' }, silentLogger).producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...samples.map((s) => ({ key: s.machine, value: JSON.stringify(s), timestamp: String(s.end + 500) })),
        // Too late by its own timestamp (its window began 40 days before it), and 25 minutes ahead of its timestamp.
        { key: tooLate.machine, value: JSON.stringify(tooLate), timestamp: String(base) },
        { key: future.machine, value: JSON.stringify(future), timestamp: String(base + 5 * 60_000) },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  const total = samples.length + 2;
  // Before any worker ran, the DLQ topic does not exist: an empty DLQ, said as such, not an error.
  const none = runMeter(['dlq', 'list', '--brokers', brokers, '--topic', topic, '--format', 'json']);
  assert.equal(none.status, 0, none.stderr);
  assert.deepEqual(JSON.parse(none.stdout), { topic, dlq: `${topic}.dlq`, exists: false, reasons: [] });
  const sqlite = join(mkdtempSync(join(tmpdir(), 'meter-event-time-')), 'ledger.db');
  const postgres = pg.createDatabase(uniqueDatabase('event_time'));
  for (const target of [sqlite, postgres]) {
    const ledger = await openLedger(target);
    await addLedgerPriceVersion(ledger, card, base - 60 * DAY);
    await ledger.close();
  }
  const group = uniqueName('billing');
  await consume(topic, group, sqlite, total, 0);
  await consume(topic, uniqueName('billing'), postgres, total, 3 * DAY);

  const period = { from: Date.UTC(new Date(base).getUTCFullYear(), new Date(base).getUTCMonth(), 1) };
  const to = new Date(period.from).setUTCMonth(new Date(period.from).getUTCMonth() + 1);
  const invoiceOf = async (target: string) => {
    const ledger = await openLedger(target, { readonly: true });
    try {
      return {
        invoice: await computeInvoice(ledger, { from: period.from, to, by: { label: 'team' }, now: to + DAY }),
        dlq: (await ledger.dlqCounts()).map((c) => [c.reason, c.count]),
        samples: (await ledger.counts()).samples,
      };
    } finally {
      await ledger.close();
    }
  };
  const a = await invoiceOf(sqlite);
  const b = await invoiceOf(postgres);
  assert.equal(a.samples, samples.length);
  assert.deepEqual(a.dlq, [['future', 1], ['too-late', 1]]);
  assert.deepEqual(b.dlq, a.dlq);
  assert.equal(b.invoice.digest, a.invoice.digest, 'identical invoices, to the digest');
  assert.deepEqual(b.invoice, a.invoice);

  // The DLQ by reason, beside the ledger's counts (both workers sent their rejects: two of each on the DLQ).
  const list = runMeter(['dlq', 'list', '--brokers', brokers, '--topic', topic, '--ledger', sqlite, '--format', 'json']);
  assert.equal(list.status, 0, list.stderr);
  const reasons = (JSON.parse(list.stdout) as { reasons: { reason: string; onDlq: number; inLedger: number }[] }).reasons;
  assert.deepEqual(reasons.map((r) => [r.reason, r.onDlq, r.inLedger]), [['future', 2, 1], ['too-late', 2, 1]]);

  // After a fix (a window wide enough for the too-late sample): replay it, twice; it is billed once.
  const replay = () => runMeter(['dlq', 'replay', '--brokers', brokers, '--topic', topic, '--reason', 'too-late']);
  const first = replay();
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /replayed 2 message\(s\) to .* \(too-late 2\); each sample is billed at most once/);
  assert.equal(replay().status, 0);
  const ledger = await openLedger(sqlite);
  try {
    // The same group: it goes on from the ledger's offsets, past the original messages, to the four replays.
    await consume(topic, group, sqlite, 4, 0, 60 * DAY);
    await waitFor('the replays to be applied', async () => (await ledger.counts()).samples === samples.length + 1, 30_000);
    const counts = await ledger.counts();
    assert.equal(counts.samples, samples.length + 1, 'the replayed sample is billed once');
    assert.equal(counts.duplicates, 3, 'its three other copies are duplicates');
  } finally {
    await ledger.close();
  }
});
