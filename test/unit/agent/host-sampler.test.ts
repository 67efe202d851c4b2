import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostSampler } from '../../../src/agent/host-sampler.js';
import { parseMeminfo, parseProcStat, type HostCounters } from '../../../src/agent/host-counters.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS } from '../../../src/schema/sample.js';
import { silentLogger } from '../../../src/log/logger.js';

test('busy is user + nice + system + irq + softirq; idle, iowait and steal are not', () => {
  const stat = [
    'cpu  100 20 30 1000 400 5 6 700 50 0',
    'cpu0 50 10 15 500 200 3 3 350 25 0',
    'cpu1 50 10 15 500 200 2 3 350 25 0',
    'intr 12345',
  ].join('\n');
  assert.deepEqual(parseProcStat(stat, 100), { busySeconds: (100 + 20 + 30 + 5 + 6) / 100, cores: 2 });
});

test('memory used is MemTotal - MemAvailable, not counting reclaimable cache', () => {
  const meminfo = 'MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:   12000000 kB\nCached:  9000000 kB\n';
  assert.deepEqual(parseMeminfo(meminfo), { totalBytes: 16000000 * 1024, usedBytes: 4000000 * 1024 });
});

function fakeCounters(boot = 'boot-1') {
  const state = { busy: 1000, boot };
  const counters: HostCounters = {
    cpu: async () => ({ busySeconds: state.busy, cores: 4 }),
    memory: async () => ({ totalBytes: 8 * 2 ** 30, usedBytes: 3 * 2 ** 30 }),
    bootId: () => state.boot,
  };
  return { state, counters };
}

test('windows tile time and carry the counter deltas', async () => {
  let now = 1_764_252_000_000;
  const { state, counters } = fakeCounters();
  const dir = mkdtempSync(join(tmpdir(), 'meter-sampler-'));
  const sampler = await HostSampler.create({ machine: 'web-1', labels: { team: 'a' }, counters, stateDir: dir, logger: silentLogger, now: () => now });
  const samples = [];
  for (let i = 0; i < 3; i++) {
    now += 5000;
    state.busy += 7.5;
    const s = await sampler.next();
    sampler.commit();
    samples.push(s);
  }
  assert.equal(samples[0]!.start, 1_764_252_000_000);
  for (let i = 1; i < samples.length; i++) assert.equal(samples[i]!.start, samples[i - 1]!.end);
  for (const s of samples) {
    assert.equal(s.cpu.busySeconds, 7.5);
    assert.equal(s.end - s.start, 5000);
    assert.equal(checkSample(JSON.stringify(s), 'web-1', { now, lateLimitMs: DEFAULT_LATE_LIMIT_MS }).ok, true);
  }
  assert.equal(new Set(samples.map((s) => s.id)).size, 3);
});

test('a restart on the same boot continues from the last window; after a reboot it starts fresh', async () => {
  let now = 1_764_252_000_000;
  const { state, counters } = fakeCounters();
  const dir = mkdtempSync(join(tmpdir(), 'meter-sampler-'));
  const first = await HostSampler.create({ machine: 'web-1', labels: {}, counters, stateDir: dir, logger: silentLogger, now: () => now });
  now += 5000;
  state.busy += 2;
  const last = await first.next();
  first.commit();
  // Down for 12 s, busy meanwhile: that usage belongs in the next window.
  now += 12_000;
  state.busy += 9;
  const second = await HostSampler.create({ machine: 'web-1', labels: {}, counters, stateDir: dir, logger: silentLogger, now: () => now });
  now += 5000;
  state.busy += 1;
  const resumed = await second.next();
  assert.equal(resumed.start, last.end);
  assert.equal(resumed.cpu.busySeconds, 10);
  assert.notEqual(resumed.id, last.id);

  state.boot = 'boot-2';
  const rebooted = await HostSampler.create({ machine: 'web-1', labels: {}, counters, stateDir: dir, logger: silentLogger, now: () => now });
  now += 5000;
  const fresh = await rebooted.next();
  assert.equal(fresh.start, now - 5000);
});

test('a sample not committed (not spooled) is taken again on restart', async () => {
  let now = 1_764_252_000_000;
  const { state, counters } = fakeCounters();
  const dir = mkdtempSync(join(tmpdir(), 'meter-sampler-'));
  const a = await HostSampler.create({ machine: 'm', labels: {}, counters, stateDir: dir, logger: silentLogger, now: () => now });
  now += 5000;
  state.busy += 3;
  const lost = await a.next(); // crashed before it reached the spool
  const b = await HostSampler.create({ machine: 'm', labels: {}, counters, stateDir: dir, logger: silentLogger, now: () => now });
  now += 1000;
  const again = await b.next();
  assert.equal(again.start, lost.start);
  assert.equal(again.cpu.busySeconds, 3);
});
