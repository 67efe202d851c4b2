// patches/kafkajs+2.2.4.patch decodes each record's offset and timestamp with plain numbers while they
// are safe integers, instead of Long, and reads the timestamp delta's varlong as a number while it
// takes at most 7 bytes: the worker bills by these offsets, so the patched decoder must give exactly
// what Long gives, at every size (past 2^53, or a delta of 8 bytes or more, it falls back to Long),
// for random records. A batch keeps the messages at or after the fetched offset, compared as numbers
// while both are safe integers (as Long before).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long');
const Encoder = require('kafkajs/src/protocol/encoder');
const Decoder = require('kafkajs/src/protocol/decoder');
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder');
const Batch = require('kafkajs/src/consumer/batch');

/** One record as Kafka writes it inside a batch (attributes, deltas, key, value, no headers). */
function record(timestampDelta: bigint, offsetDelta: number): Buffer {
  const e = new Encoder();
  e.writeInt8(0).writeVarLong(Long.fromString(timestampDelta.toString())).writeVarInt(offsetDelta);
  e.writeVarIntBytes(Buffer.from('k')).writeVarIntBytes(Buffer.from('v')).writeVarIntArray([]);
  return e.buffer;
}

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const near53 = fc.bigInt({ min: 2n ** 53n - 5000n, max: 2n ** 53n + 5000n });
const base = fc.oneof(fc.bigInt({ min: -1n, max: 2n ** 45n }), near53, int64, fc.constant(-1n));
// Deltas around the 7-byte varlong's edge (zigzag: -2^48 .. 2^48 - 1 fit), small ones, and any.
const near48 = fc.oneof(fc.bigInt({ min: 2n ** 48n - 3n, max: 2n ** 48n + 3n }), fc.bigInt({ min: -(2n ** 48n) - 3n, max: -(2n ** 48n) + 3n }));
const delta = fc.oneof(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), fc.bigInt({ min: -300n, max: 300n }), near48, int64);

test('kafkajs record decoder: offsets and timestamps are what Long gives (exactly base + delta for real offsets)', () => {
  fc.assert(
    fc.property(base, base, delta, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (firstOffset, firstTimestamp, tsDelta, offDelta) => {
      // What the unpatched decoder computes.
      const viaLong = (b: bigint, d: bigint) => Long.fromValue(b.toString()).add(Long.fromString(d.toString())).toString();
      const decoded = decodeRecord(new Decoder(record(tsDelta, offDelta)), {
        firstOffset: firstOffset.toString(),
        firstTimestamp: firstTimestamp.toString(),
        magicByte: 2,
        timestampType: 0,
      });
      assert.equal(decoded.offset, viaLong(firstOffset, BigInt(offDelta)));
      if (firstOffset >= 0n && firstOffset < 2n ** 53n) assert.equal(decoded.offset, (firstOffset + BigInt(offDelta)).toString());
      assert.equal(decoded.timestamp, viaLong(firstTimestamp, tsDelta));
      if (firstTimestamp >= 0n && firstTimestamp + tsDelta >= 0n && firstTimestamp + tsDelta < 2n ** 53n) assert.equal(decoded.timestamp, (firstTimestamp + tsDelta).toString());
      assert.equal(decoded.key.toString(), 'k');
      assert.equal(decoded.value.toString(), 'v');
    }),
    { numRuns: 3000 },
  );
});

test('kafkajs record decoder: a LogAppendTime batch gives every record the batch max timestamp', () => {
  const decoded = decodeRecord(new Decoder(record(5n, 3)), { firstOffset: '10', firstTimestamp: '100', maxTimestamp: '777', magicByte: 2, timestampType: 1 });
  assert.equal(decoded.offset, '13');
  assert.equal(decoded.timestamp, '777');
});

test('kafkajs batch: the messages kept are those at or after the fetched offset, at every size', () => {
  const offset = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), near53, fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }));
  fc.assert(
    fc.property(offset, fc.array(offset, { maxLength: 20 }), (fetched, offsets) => {
      const messages = offsets.map((o) => ({ offset: o.toString(), key: null, value: null, isControlRecord: false }));
      const batch = new Batch('t', fetched.toString(), { partition: 0, highWatermark: '0', messages, abortedTransactions: [] });
      assert.deepEqual(
        batch.messages.map((m: { offset: string }) => m.offset),
        offsets.filter((o) => o >= fetched).map((o) => o.toString()),
      );
    }),
    { numRuns: 3000 },
  );
});
