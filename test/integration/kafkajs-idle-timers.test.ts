// kafkajs 2.2.4, unpatched, keeps an idle connection busy: a timer with a negative delay that sets
// itself again at once (thousands of wake-ups a second), and a request-timeout check every 100 ms.
// patches/kafkajs+2.2.4.patch (applied at install by patch-package) removes both. This counts the
// timer callbacks an idle, connected producer runs, through async_hooks, against a real broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { testBrokers } from '../helpers/broker.js';
import { createKafka } from '../../src/kafka/client.js';
import { kafkajsPatched } from '../../src/agent/kafkajs-patch.js';
import { silentLogger } from '../../src/log/logger.js';

test('an idle kafkajs connection runs at most about one timer callback a second', { timeout: 60_000 }, async () => {
  assert.ok(kafkajsPatched(), 'node_modules/kafkajs carries the patch (npm ci runs patch-package)');
  const brokers = await testBrokers();
  const kafka = createKafka({ brokers: [brokers], clientId: 'idle-timers' }, silentLogger);
  const producer = kafka.producer();
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.listTopics(); // a request on a second connection, then both sit idle
  await sleep(1000);

  const timers = new Set<number>();
  let callbacks = 0;
  const hook = createHook({
    init(id, type) {
      if (type === 'Timeout') timers.add(id);
    },
    before(id) {
      if (timers.has(id)) callbacks++;
    },
  });
  const seconds = 5;
  hook.enable();
  await sleep(seconds * 1000);
  hook.disable();
  await producer.disconnect();
  await admin.disconnect();
  // Two connections (at least; a broker may have a control connection too) at one check a second,
  // and our own sleep: unpatched it is 10 a second per connection, or thousands when spinning.
  assert.ok(callbacks <= 4 * seconds + 2, `${callbacks} timer callbacks in ${seconds} s idle`);
  assert.ok(callbacks >= 1, 'the hook saw timers at all');
});
