// The console's data side through a broker outage, on a private broker of the test's own: it keeps
// the last data, says "reconnecting", and recovers by itself when the broker is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateBroker, type PrivateBroker } from '../helpers/broker.js';
import { createKafka, ensureTopic } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';
import { loadRateCard } from '../../src/billing/index.js';
import { ConsoleHub } from '../../src/console/console-hub.js';
import type { ConsoleSnapshot } from '../../src/console/snapshot.js';
import type { Sample } from '../../src/schema/sample.js';

let broker: PrivateBroker | undefined;
let hub: ConsoleHub | undefined;
const dir = mkdtempSync(join(tmpdir(), 'meter-console-outage-'));
after(async () => {
  await hub?.stop();
  await broker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GiB = 2 ** 30;

function sample(machine: string, end: number): Sample {
  return {
    v: 1,
    id: `${machine}:1:${end}`,
    machine,
    labels: { team: 'ops' },
    start: end - 1000,
    end,
    cpu: { cores: 2, busySeconds: 1 },
    mem: { totalBytes: 4 * GiB, usedBytes: GiB },
  };
}

async function waitFor(what: string, ok: (s: ConsoleSnapshot) => boolean, timeoutMs = 60_000): Promise<ConsoleSnapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = hub!.refresh();
    if (ok(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: broker ${JSON.stringify(s.broker)}, ${s.machines.length} machines`);
    await sleep(250);
  }
}

test('broker down: the last data stays, the state says reconnecting, and it recovers by itself', { timeout: 180_000 }, async () => {
  broker = await startPrivateBroker();
  const topic = 'resource_usage';
  const kafka = createKafka({ brokers: [broker.brokers], clientId: 'console-outage-test' }, silentLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, topic, 3, silentLogger);
  await admin.disconnect();
  const publish = async (end: number) => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: ['a', 'b', 'c'].map((m) => ({ key: m, value: JSON.stringify(sample(m, end)) })) });
    await producer.disconnect();
  };
  const t0 = Date.now();
  await publish(t0 - 2000);

  hub = new ConsoleHub({
    kafka,
    topic,
    group: 'billing',
    ledgerPath: join(dir, 'ledger.db'),
    rateCard: loadRateCard(),
    intervalMs: 5000,
    refreshMs: 200,
    costBy: 'machine',
    lagPollMs: 500,
  });
  hub.start();
  const before = await waitFor('three machines, connected', (s) => s.machines.length === 3 && s.broker.state === 'connected');
  assert.equal(before.ledger.state, 'missing', 'no ledger here: the rest works without it');

  await broker.stop();
  const down = await waitFor('reconnecting', (s) => s.broker.state === 'reconnecting', 30_000);
  assert.equal(down.machines.length, 3, 'the last data stays');
  assert.ok(down.machines.every((m) => m.cpu === 50));
  assert.ok(down.broker.since !== null);

  await broker.start();
  await publish(Date.now());
  const recovered = await waitFor(
    'connected again with the new samples',
    (s) => s.broker.state === 'connected' && s.machines.every((m) => (m.lastSeen ?? 0) > t0),
    90_000,
  );
  assert.equal(recovered.machines.length, 3);
});
