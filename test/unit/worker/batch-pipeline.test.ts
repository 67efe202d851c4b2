import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerGapError, LogBehindLedgerError, type ApplyResult, type LedgerBatch } from '../../../src/ledger/index.js';
import { BatchPipeline, type BatchPayload, type BatchPipelineOptions } from '../../../src/worker/batch-pipeline.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { WorkerStats } from '../../../src/worker/worker-stats.js';
import { makeSample, message } from './fixtures.js';
import { recordingLogger } from './recording-logger.js';

const NOW = Date.now();

function payload(partition: number, from: number, count: number, highWatermark = from + count): BatchPayload & { resolved: string[] } {
  const messages = Array.from({ length: count }, (_, i) => message(makeSample({ seq: from + i, start: NOW - 600_000 + (from + i) * 1000 }), from + i));
  const resolved: string[] = [];
  return {
    resolved,
    batch: {
      partition,
      highWatermark: String(highWatermark),
      messages,
      firstOffset: () => String(from),
      lastOffset: () => String(from + count - 1),
    },
    resolveOffset: (o) => void resolved.push(o),
    heartbeat: async () => {},
    isStale: () => false,
  };
}

function pipeline(apply: (batch: LedgerBatch) => Promise<ApplyResult>, overrides: Partial<BatchPipelineOptions> = {}) {
  const events: string[] = [];
  const fatals: Error[] = [];
  const stats = new WorkerStats();
  stats.assigned([0, 1, 2]);
  const stopped: Error[] = [];
  const p = new BatchPipeline({
    group: 'g',
    topic: 't',
    preparer: new BatchPreparer(),
    writer: { apply },
    sendToDlq: async () => {},
    committer: { ack: (part, o) => events.push(`ack ${part}@${o}`), flush: async () => {} },
    recovery: {
      ready: async () => true,
      // The log read now is behind too (see partition-recovery.test.ts for a stale batch's answer).
      confirmBehind: async (e) => (stopped.push(e), true),
      retentionGapUpTo: () => undefined,
      retentionGapFound: () => {},
      retentionGapCrossed: () => {},
    },
    seek: (part, o) => events.push(`seek ${part}@${o}`),
    ledgerOffset: async () => 42,
    logOffsets: async () => new Map([[0, { low: 0, high: 100 }]]),
    stats,
    logger: recordingLogger(),
    fatal: (e) => fatals.push(e),
    maxConsecutiveFailures: 3,
    now: Date.now,
    ...overrides,
  });
  return { p, events, fatals, stats, stopped };
}

const ok = (batch: LedgerBatch): ApplyResult => ({ inserted: batch.samples.runs.length, duplicates: 0, skipped: 0, rejected: 0, nextOffset: batch.lastOffset + 1, prunedBefore: 0 });

test('a batch goes to the writer with its fetch position and log end, is resolved, and its result is acked', async () => {
  const seen: LedgerBatch[] = [];
  const w = pipeline(async (b) => (seen.push(b), ok(b)));
  const a = payload(0, 10, 5, 30);
  await w.p.eachBatch(a);
  await w.p.drain();
  assert.equal(seen[0]!.fetchedOffset, 10);
  assert.equal(seen[0]!.highWatermark, 30);
  assert.deepEqual(a.resolved, ['14']);
  assert.deepEqual(w.events, ['ack 0@15']);
  assert.equal(w.stats.inserted, 5);
});

test('a log behind the ledger stops the partition: from the ledger, and from the batch before sending anything', async () => {
  const w = pipeline(async (b) => {
    throw new LogBehindLedgerError(b.partition, 3, 15);
  });
  await w.p.eachBatch(payload(0, 0, 3, 3));
  await w.p.drain();
  assert.equal(w.stopped.length, 1);
  // Once the pipeline knows the ledger is at 15, a batch whose log ends below it never reaches the writer.
  let applied = 0;
  const v = pipeline(async (b) => (applied++, ok(b)));
  await v.p.eachBatch(payload(0, 10, 5, 15));
  await v.p.drain();
  await v.p.eachBatch(payload(0, 0, 2, 2));
  await v.p.drain();
  assert.equal(applied, 1);
  assert.equal(v.stopped.length, 1);
  assert.ok(v.stopped[0] instanceof LogBehindLedgerError);
});

test('a batch ending below the ledger that recovery finds stale is skipped: nothing to the DLQ or the ledger, the partition seeks to the ledger', async () => {
  let applied = 0;
  let dlq = 0;
  const w = pipeline(async (b) => (applied++, ok(b)), {
    recovery: { ready: async () => true, confirmBehind: async () => false, retentionGapUpTo: () => undefined, retentionGapFound: () => {}, retentionGapCrossed: () => {} },
    sendToDlq: async () => void dlq++,
    ledgerOffset: async () => 15,
  });
  await w.p.eachBatch(payload(0, 10, 5, 15));
  await w.p.drain();
  // Fetched before another worker billed on: ends at 2, the ledger is at 15.
  const stale = payload(0, 0, 2, 3);
  stale.batch.messages.push(message('not a sample', 2));
  await w.p.eachBatch(stale);
  await w.p.drain();
  for (let i = 0; i < 50 && !w.events.includes('seek 0@15'); i++) await sleep(10);
  assert.deepEqual([applied, dlq, stale.resolved.length], [1, 0, 0]);
  assert.ok(w.events.includes('seek 0@15'), w.events.join());
});

test('a refused gap seeks back to the ledger offset; failing transactions back off, then stop the worker', async () => {
  const gap = pipeline(async (b) => {
    throw new LedgerGapError(b.partition, 50, 42);
  });
  await gap.p.eachBatch(payload(0, 50, 2));
  await gap.p.drain();
  for (let i = 0; i < 50 && !gap.events.includes('seek 0@42'); i++) await sleep(10);
  assert.ok(gap.events.includes('seek 0@42'), gap.events.join());
  assert.equal(gap.fatals.length, 0);

  const failing = pipeline(async () => {
    throw new Error('disk full');
  });
  for (let i = 0; i < 3; i++) {
    // Back-off is per partition: use another partition each time so the test does not wait it out.
    await failing.p.eachBatch(payload(i, 0, 1));
    await failing.p.drain();
  }
  assert.equal(failing.fatals.length, 1);
  assert.match(failing.fatals[0]!.message, /ledger writes keep failing \(disk full\)/);
});

test('a failed transaction on a quiet partition seeks back even when reading the ledger offset fails at first', async () => {
  // kafkajs has fetched past the batch and no later one comes: only this seek reads it again.
  let reads = 0;
  const logger = recordingLogger();
  const w = pipeline(
    async () => {
      throw new Error('ledger sent nothing for 3 s');
    },
    {
      ledgerOffset: async () => {
        if (++reads <= 2) throw new Error('ledger sent nothing for 3 s');
        return 7;
      },
      seekRetryMs: 10,
      logger,
    },
  );
  await w.p.eachBatch(payload(0, 7, 3));
  await w.p.drain();
  for (let i = 0; i < 100 && !w.events.includes('seek 0@7'); i++) await sleep(10);
  assert.deepEqual(w.events, ['seek 0@7']);
  assert.equal(reads, 3);
  assert.equal(logger.lines.filter((l) => l.msg.startsWith('cannot read the ledger offset')).length, 2);
  // A stop ends the retrying.
  let silentReads = 0;
  const s = pipeline(async () => {
    throw new Error('ledger sent nothing for 3 s');
  }, { ledgerOffset: async () => Promise.reject(new Error(`still silent (${++silentReads})`)), seekRetryMs: 5 });
  await s.p.eachBatch(payload(1, 0, 1));
  await s.p.drain();
  await sleep(30);
  assert.ok(silentReads >= 2, `retried: ${silentReads}`);
  s.p.stop();
  await sleep(10);
  const atStop = silentReads;
  await sleep(100);
  assert.equal(silentReads, atStop, 'no reads after the stop');
});

test('lag is the log end minus the ledger next offset: batches fetched but not yet in the ledger still count', async () => {
  const gates: (() => void)[] = [];
  const w = pipeline((b) => new Promise((resolve) => gates.push(() => resolve(ok(b)))));
  w.stats.lag.ledgerAdmitted(0, 0);
  // kafkajs fetched three batches ahead: its own lag (end minus fetch position) says 700, then 0.
  await w.p.eachBatch(payload(0, 0, 100, 1000));
  await w.p.eachBatch(payload(0, 100, 100, 1000));
  assert.equal(w.stats.lag.lagOf(0).lag, 1000, 'nothing is in the ledger yet');
  gates.shift()!();
  await sleep(0);
  assert.equal(w.stats.lag.lagOf(0).lag, 900);
  assert.equal(w.stats.lag.lagOf(0).ledgerNext, 100);
  gates.shift()!();
  await w.p.drain();
  assert.equal(w.stats.lag.lagOf(0).lag, 800);
  assert.equal(w.stats.lag.total(), 800);
});

test('DLQ counts by reason are those the ledger counted; failed and refused transactions are counted', async () => {
  const seen: LedgerBatch[] = [];
  // The ledger already has offsets below 11: of the batch's rejects (10, 11, 13), it counts 11 and 13.
  const w = pipeline(async (b) => (seen.push(b), { inserted: 1, duplicates: 0, skipped: 1, rejected: 2, nextOffset: 14, prunedBefore: 0 }));
  const p = payload(0, 10, 4, 20);
  p.batch.messages[0] = message('not json', 10);
  p.batch.messages[1] = message('{"v":2}', 11);
  p.batch.messages[3] = message('', 13);
  await w.p.eachBatch(p);
  await w.p.drain();
  assert.equal(seen[0]!.rejects.length, 3);
  assert.equal(w.stats.dlq, 2);
  const byReason = Object.fromEntries(w.stats.dlqByReason);
  assert.equal(Object.values(byReason).reduce((a, b) => a + b, 0), 2);
  assert.equal(byReason['not-json'], undefined, 'offset 10 was below the ledger: not counted again');

  let calls = 0;
  const f = pipeline(async (b) => {
    calls++;
    if (calls === 1) throw new Error('disk full');
    throw new LedgerGapError(b.partition, 5, 0);
  });
  await f.p.eachBatch(payload(1, 0, 1));
  await f.p.drain();
  await f.p.eachBatch(payload(2, 5, 1));
  await f.p.drain();
  assert.equal(f.stats.ledgerErrors, 1);
  assert.equal(f.stats.batchesRefused, 1);
  assert.equal(f.stats.batches, 0);
});

test('a stop does not wait on a broker that does not answer: heartbeats and DLQ sends in hand are let go, and their batches are not applied', async () => {
  const never = new Promise<never>(() => {});
  let applied = 0;
  const w = pipeline(async (b) => (applied++, ok(b)), { sendToDlq: () => never });
  // A batch waiting on its last heartbeat (applied), and one waiting on its DLQ send (not yet applied).
  const heartbeating = payload(0, 0, 2);
  heartbeating.heartbeat = () => never;
  const withReject = payload(1, 0, 2);
  withReject.batch.messages[0] = message('not json', 0);
  const handlers = [w.p.eachBatch(heartbeating), w.p.eachBatch(withReject)];
  await sleep(20);
  assert.equal(applied, 1, 'the heartbeating batch reached the ledger; the other waits on the DLQ');

  w.p.stop();
  const drained = await Promise.race([Promise.all([w.p.drain(), ...handlers]).then(() => true), sleep(2000).then(() => false)]);
  assert.ok(drained, 'the stop drained without waiting for the broker');
  // Its rejects never reached the DLQ, so the batch must not move the ledger past them.
  assert.equal(applied, 1);
  assert.deepEqual(withReject.resolved, []);
  assert.deepEqual(w.events, ['ack 0@2']);
});
