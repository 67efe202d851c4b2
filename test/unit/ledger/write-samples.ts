// Writes samples into a ledger the way the worker does (prepared from Kafka messages whose timestamp
// is each sample's window end, then one batch), for the tests that need a ledger with usage in it.
import assert from 'node:assert/strict';
import type { ApplyResult, Ledger } from '../../../src/ledger/index.js';
import type { Sample } from '../../../src/schema/sample.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import { message } from '../worker/fixtures.js';

export interface WriteOptions {
  partition?: number;
  /** Offset of the first sample; the next offset after the partition's last by default. */
  firstOffset?: number;
  /** The ingestion time. */
  now?: number;
  group?: string;
  topic?: string;
}

const nextOffsets = new WeakMap<Ledger, Map<number, number>>();

export async function writeSamples(ledger: Ledger, samples: readonly Sample[], options: WriteOptions = {}): Promise<ApplyResult> {
  const partition = options.partition ?? 0;
  let offsets = nextOffsets.get(ledger);
  if (!offsets) nextOffsets.set(ledger, (offsets = new Map()));
  const first = options.firstOffset ?? offsets.get(partition) ?? 0;
  const prepared = new BatchPreparer().prepare(samples.map((s, i) => message(s, first + i)));
  assert.equal(prepared.rejects.length, 0, prepared.rejects[0]?.reason);
  const result = await ledger.applyBatch({
    group: options.group ?? 'billing',
    topic: options.topic ?? 'resource_usage',
    partition,
    fetchedOffset: first,
    lastOffset: first + samples.length - 1,
    samples: prepared.samples,
    rejects: [],
    maxTimestamp: prepared.maxTimestamp,
    now: options.now,
  });
  offsets.set(partition, result.nextOffset);
  return result;
}
