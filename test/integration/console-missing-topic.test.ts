// What kafkajs really throws for a topic that does not exist yet, on a real broker: the lag pane says
// so, and the broker counts as connected (it answered).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMeter } from '../helpers/cli.js';
import { LagStore } from '../../src/console/lag-store.js';
import { createKafka } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/log/logger.js';

test('a topic not created yet is "not found yet" in the lag pane, and the broker is connected', { timeout: 60_000 }, async () => {
  const brokers = (process.env.METER_TEST_BROKERS ?? '127.0.0.1:9092').split(',');
  const topic = `console_missing_${process.pid}_${Date.now()}`;
  const kafka = createKafka({ brokers, clientId: 'meter-test' }, silentLogger);
  const store = new LagStore({ kafka, topic, group: `g_${topic}`, pollMs: 60_000, windowMs: 10_000 });
  try {
    await store.poll();
    assert.equal(store.view.state, 'error');
    assert.equal(store.view.message, `topic ${topic} not found yet`);
    assert.equal(store.health.state, 'connected');
  } finally {
    await store.stop();
  }
});

test('console --once on a topic not created yet prints its snapshot and exits (a kafkajs retry left pending used to reconnect it and keep it alive)', { timeout: 90_000 }, () => {
  const brokers = process.env.METER_TEST_BROKERS ?? '127.0.0.1:9092';
  const topic = `console_missing_once_${process.pid}_${Date.now()}`;
  const home = mkdtempSync(join(tmpdir(), 'meter-once-'));
  try {
    const r = runMeter(['console', '--once', '--json', '--brokers', brokers, '--topic', topic, '--group', `g_${topic}`, '--home', home], { timeout: 60_000 });
    assert.equal(r.signal, null, `killed at the 60 s limit: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    const snapshot = JSON.parse(r.stdout) as { machines: unknown[]; totals: { topic: string } };
    assert.deepEqual(snapshot.machines, []);
    assert.equal(snapshot.totals.topic, topic);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
