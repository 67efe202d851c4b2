// Benchmark of the kafkajs patch's decoding (patches/kafkajs+2.2.4.patch): a fetch's records decoded by
// the patched record decoder, and the batch's filter of messages before the fetched offset, against
// kafkajs 2.2.4's own code for both (copied below: Long for every offset, timestamp and comparison), in
// alternating rounds in one process. Every message the worker and the console's tail read passes
// through both. Prints the median ns per record of each and their ratio.
//
//   npm run bench:kafkajs-decode
//   npm run bench:kafkajs-decode -- --records 3000 --rounds 9
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { records: { type: 'string', default: '3000' }, rounds: { type: 'string', default: '9' } } });
const N = Number(values.records);
const ROUNDS = Number(values.rounds);

const require = createRequire(import.meta.url);
const Long = require('kafkajs/src/utils/long');
const Encoder = require('kafkajs/src/protocol/encoder');
const Decoder = require('kafkajs/src/protocol/decoder');
const HeaderDecoder = require('kafkajs/src/protocol/recordBatch/header/v0/decoder');
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder');
const Batch = require('kafkajs/src/consumer/batch');

type KafkaRecord = { offset: string; timestamp: string; key: Buffer; value: Buffer; isControlRecord: boolean };
type Context = { firstOffset: string; firstTimestamp: string; magicByte: number; timestampType: number };

/** kafkajs 2.2.4's decodeRecord, unpatched (LogAppendTime left out: the batches here are CreateTime). */
function decodeRecordUnpatched(decoder: InstanceType<typeof Decoder>, batchContext: Context): KafkaRecord {
  const { firstOffset, firstTimestamp, magicByte } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = decoder.readVarLong();
  const timestamp = Long.fromValue(firstTimestamp).add(timestampDelta).toString();
  const offsetDelta = decoder.readVarInt();
  const offset = Long.fromValue(firstOffset).add(offsetDelta).toString();
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers = decoder
    .readVarIntArray(HeaderDecoder)
    .reduce((obj: Record<string, unknown>, h: { key: string; value: unknown }) => ({ ...obj, [h.key]: h.value }), {});
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: false, batchContext } as unknown as KafkaRecord;
}

/** kafkajs 2.2.4's Batch filter of messages before the fetched offset, unpatched. */
function withinOffsetUnpatched(messages: KafkaRecord[], fetchedOffset: string): KafkaRecord[] {
  const fetched = Long.fromValue(fetchedOffset);
  return messages.filter((m) => Long.fromValue(m.offset).gte(fetched)).filter((m) => !m.isControlRecord);
}

// A fetch of the agents' samples: 276-byte values keyed by machine, a few ms apart.
const encoder = new Encoder();
const value = Buffer.alloc(276, 0x41);
for (let i = 0; i < N; i++) {
  encoder.writeInt8(0).writeVarLong(Long.fromInt(i * 3)).writeVarInt(i);
  encoder.writeVarIntBytes(Buffer.from(`sim-${String(i % 10000).padStart(5, '0')}`)).writeVarIntBytes(value).writeVarIntArray([]);
}
const bytes: Buffer = encoder.buffer;
const context: Context = { firstOffset: '123456789', firstTimestamp: String(Date.now()), magicByte: 2, timestampType: 0 };

function decodeAll(decode: (d: InstanceType<typeof Decoder>, c: Context) => KafkaRecord): KafkaRecord[] {
  const decoder = new Decoder(bytes);
  const out = new Array<KafkaRecord>(N);
  for (let i = 0; i < N; i++) out[i] = decode(decoder, context);
  return out;
}

// Both give the same records (the unit tests hold this at every size; here, a check of the copy).
const patched = decodeAll(decodeRecord);
const unpatched = decodeAll(decodeRecordUnpatched);
for (let i = 0; i < N; i++) {
  if (patched[i]!.offset !== unpatched[i]!.offset || patched[i]!.timestamp !== unpatched[i]!.timestamp) throw new Error(`record ${i} differs`);
}
const fetchedOffset = String(123456789 + Math.floor(N / 10));
const newBatch = () => new Batch('t', fetchedOffset, { partition: 0, highWatermark: '0', messages: patched, abortedTransactions: [] }).messages;
if (newBatch().length !== withinOffsetUnpatched(patched, fetchedOffset).length) throw new Error('the batch filters differ');

/** ns per record of `f` over `reps` repetitions. */
function nsPerRecord(f: () => unknown, reps: number): number {
  const started = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) f();
  return Number(process.hrtime.bigint() - started) / reps / N;
}
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
const reps = Math.max(1, Math.round(300_000 / N));
const runs = { decodeOld: [] as number[], decodeNew: [] as number[], batchOld: [] as number[], batchNew: [] as number[] };
for (let w = 0; w < 3; w++) {
  nsPerRecord(() => decodeAll(decodeRecordUnpatched), reps);
  nsPerRecord(() => decodeAll(decodeRecord), reps);
}
for (let round = 0; round < ROUNDS; round++) {
  // Alternating which goes first, so a shift in the machine's load falls on both.
  const order = round % 2 === 0 ? ['old', 'new'] : ['new', 'old'];
  for (const which of order) {
    if (which === 'old') {
      runs.decodeOld.push(nsPerRecord(() => decodeAll(decodeRecordUnpatched), reps));
      runs.batchOld.push(nsPerRecord(() => withinOffsetUnpatched(patched, fetchedOffset), reps));
    } else {
      runs.decodeNew.push(nsPerRecord(() => decodeAll(decodeRecord), reps));
      runs.batchNew.push(nsPerRecord(newBatch, reps));
    }
  }
}
const line = (what: string, old: number[], now: number[]) =>
  `  ${what.padEnd(36)} kafkajs ${median(old).toFixed(0).padStart(5)} ns, patched ${median(now).toFixed(0).padStart(5)} ns a record: ${(median(now) / median(old)).toFixed(2)}x`;
console.log(`kafkajs decoding, ${N} records of ${value.length} bytes, median of ${ROUNDS} alternating rounds (node ${process.version}):`);
console.log(line('record decoder (offset, timestamp)', runs.decodeOld, runs.decodeNew));
console.log(line('batch filter (at or after the fetch)', runs.batchOld, runs.batchNew));
