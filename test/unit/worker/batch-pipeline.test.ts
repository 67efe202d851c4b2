import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LedgerGapError, LogBehindLedgerError, type ApplyResult, type LedgerBatch } from '../../../src/ledger/index.js';
import { BatchPipeline, type BatchPayload } from '../../../src/worker/batch-pipeline.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { WorkerCounters } from '../../../src/worker/status.js';
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
      offsetLag: () => String(highWatermark - (from + count)),
    },
    resolveOffset: (o) => void resolved.push(o),
    heartbeat: async () => {},
    isStale: () => false,
  };
}

function pipeline(apply: (batch: LedgerBatch) => Promise<ApplyResult>) {
  const events: string[] = [];
  const fatals: Error[] = [];
  const counters: WorkerCounters = { inserted: 0, duplicates: 0, dlq: 0, batches: 0, lag: new Map() };
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
      stop: (e) => void stopped.push(e),
      retentionGapUpTo: () => undefined,
      retentionGapFound: () => {},
      retentionGapCrossed: () => {},
    },
    seek: (part, o) => events.push(`seek ${part}@${o}`),
    ledgerOffset: async () => 42,
    logOffsets: async () => new Map([[0, { low: 0, high: 100 }]]),
    counters,
    logger: recordingLogger(),
    fatal: (e) => fatals.push(e),
    maxConsecutiveFailures: 3,
    now: Date.now,
  });
  return { p, events, fatals, counters, stopped };
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
  assert.equal(w.counters.inserted, 5);
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
