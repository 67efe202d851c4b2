// `meter agent --metrics HOST:PORT` during real runs, the text parsed by an independent parser:
// Python's prometheus_client (the reference client's own text parser).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawnMeter, runMeter, exited } from '../helpers/cli.js';
import { testBrokers, freePort } from '../helpers/broker.js';
import { parsePrometheus as parse, sampleValue, scrape, type Families } from '../helpers/prometheus.js';

const dir = mkdtempSync(join(tmpdir(), 'meter-metrics-'));
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await exited(c);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const value = (f: Families, family: string, sample = family) => {
  const v = sampleValue(f, sample);
  assert.ok(v !== undefined, `${sample} is served`);
  return v;
};

test('the agent serves its metrics while it publishes, and they parse with prometheus_client', { timeout: 90_000 }, async () => {
  const brokers = await testBrokers();
  const port = await freePort();
  const topic = `metrics_${process.pid}_${Date.now()}`;
  const agent = spawnMeter(['agent', '--brokers', brokers, '--topic', topic, '--interval', '1', '--machine', 'metrics-1', '--spool', join(dir, 'a'), '--metrics', `127.0.0.1:${port}`]);
  children.push(agent);
  let log = '';
  agent.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/metrics`;
  let families: Families = {};
  const deadline = Date.now() + 60_000;
  for (;;) {
    await sleep(1000);
    try {
      families = parse(await scrape(url));
      if (value(families, 'meter_agent_samples_published', 'meter_agent_samples_published_total') >= 3) break;
    } catch (error) {
      if (error instanceof assert.AssertionError && !/is served/.test(error.message)) throw error;
    }
    assert.ok(Date.now() < deadline, `no published samples in the metrics: ${log}`);
  }
  assert.equal(families['meter_agent_samples_taken']!.type, 'counter');
  assert.ok(value(families, 'meter_agent_samples_taken', 'meter_agent_samples_taken_total') >= 3);
  assert.equal(value(families, 'meter_agent_broker_connected'), 1);
  const lastPublish = value(families, 'meter_agent_last_publish_timestamp_seconds');
  assert.ok(Math.abs(Date.now() / 1000 - lastPublish) < 10, `last publish ${lastPublish}`);
  assert.ok(value(families, 'meter_agent_spool_bytes') > 0);
  assert.ok(value(families, 'meter_agent_spool_records') <= 1);
  assert.equal(value(families, 'meter_agent_spool_dropped', 'meter_agent_spool_dropped_total'), 0);
  assert.equal(families['meter_agent_publish_latency_seconds']!.type, 'histogram');
  const count = value(families, 'meter_agent_publish_latency_seconds', 'meter_agent_publish_latency_seconds_count');
  assert.ok(count >= 3, `latency observed ${count} times`);
  const sum = value(families, 'meter_agent_publish_latency_seconds', 'meter_agent_publish_latency_seconds_sum');
  assert.ok(sum > 0 && sum / count < 5, `mean latency ${sum / count} s`);
  // Counters only go up between scrapes.
  await sleep(1500);
  const later = parse(await scrape(url));
  assert.ok(value(later, 'meter_agent_samples_taken', 'meter_agent_samples_taken_total') > value(families, 'meter_agent_samples_taken', 'meter_agent_samples_taken_total'));
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
  agent.kill('SIGTERM');
  assert.equal(await exited(agent), 0, log);
});

test('with no broker: connected 0, samples spooled, and the oldest dropped at the bound, counted', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const deadPort = await freePort(); // nothing listens there
  const agent = spawnMeter(['agent', '--brokers', `127.0.0.1:${deadPort}`, '--interval', '1', '--simulate', '300', '--spool-max-mb', '0.1', '--spool', join(dir, 'b'), '--metrics', `127.0.0.1:${port}`]);
  children.push(agent);
  let log = '';
  agent.stderr!.on('data', (d) => (log += d));
  const deadline = Date.now() + 60_000;
  let families: Families = {};
  for (;;) {
    await sleep(1000);
    try {
      families = parse(await scrape(`http://127.0.0.1:${port}/metrics`));
      if (value(families, 'meter_agent_spool_dropped', 'meter_agent_spool_dropped_total') > 0) break;
    } catch (error) {
      if (error instanceof assert.AssertionError && !/is served/.test(error.message)) throw error;
    }
    assert.ok(Date.now() < deadline, `nothing dropped at the bound: ${log}`);
  }
  assert.equal(value(families, 'meter_agent_broker_connected'), 0);
  assert.equal(value(families, 'meter_agent_samples_published', 'meter_agent_samples_published_total'), 0);
  assert.equal(value(families, 'meter_agent_last_publish_timestamp_seconds'), 0);
  const taken = value(families, 'meter_agent_samples_taken', 'meter_agent_samples_taken_total');
  const dropped = value(families, 'meter_agent_spool_dropped', 'meter_agent_spool_dropped_total');
  const spooled = value(families, 'meter_agent_spool_records');
  assert.ok(Math.abs(taken - dropped - spooled) <= 300, `taken ${taken} = dropped ${dropped} + spooled ${spooled} (within one tick)`);
  assert.ok(value(families, 'meter_agent_spool_bytes') <= 0.1 * 1024 * 1024 + 64 * 1024);
  assert.match(log, /spool is full: dropped the oldest samples/);
  agent.kill('SIGTERM');
  await exited(agent);
});

test('--metrics: a bad address or a port in use is a one-line error, exit 2', async () => {
  const bad = runMeter(['agent', '--metrics', 'nonsense', '--spool', join(dir, 'c')]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /^meter: --metrics: "nonsense" is not HOST:PORT/);
  assert.equal(bad.stderr.trim().split('\n').length, 1);

  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    const brokers = await testBrokers();
    const inUse = runMeter(['agent', '--brokers', brokers, '--metrics', `127.0.0.1:${port}`, '--spool', join(dir, 'd')], { timeout: 30_000 });
    assert.equal(inUse.status, 2, inUse.stderr);
    assert.match(inUse.stderr, /meter: --metrics: cannot listen on 127\.0\.0\.1:\d+ \(the port is in use\)/);
    assert.doesNotMatch(inUse.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    busy.close();
  }
});
