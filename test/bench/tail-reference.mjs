// The console benchmark's reference consumer: kafkajs (as installed, with our patch) reading the same
// topic with the live tail's fetch settings, and doing nothing with the messages. Its CPU beside the
// console's is what receiving the fleet's messages costs before the console does anything with them:
// the floor of a live tail of every message in one Node process.
//
//   node test/bench/tail-reference.mjs BROKERS TOPIC
//
// On SIGTERM it prints {"messages": N, "bytes": N} (the bytes summed so the loop over them is real
// work the compiler cannot drop) and exits.
import { hostname } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import { tailFetchOptions } from '../../dist/src/console/tail-store.js';

const [brokers, topic] = process.argv.slice(2);
if (!brokers || !topic) {
  process.stderr.write('usage: node test/bench/tail-reference.mjs BROKERS TOPIC\n');
  process.exit(2);
}
const kafka = new Kafka({ clientId: 'meter-bench-tail-reference', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({ groupId: `meter-bench-tail-reference-${hostname()}-${process.pid}`, ...tailFetchOptions(false), sessionTimeout: 10_000, heartbeatInterval: 3000 });
let messages = 0;
let bytes = 0;
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: false });
await consumer.run({
  autoCommit: false,
  eachBatch: async ({ batch }) => {
    // Touch each message as the tail does before decoding it: its key and value are there.
    for (const message of batch.messages) bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
    messages += batch.messages.length;
  },
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ messages, bytes })}\n`);
  void consumer.disconnect().finally(() => process.exit(0));
});
