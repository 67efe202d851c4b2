import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostSampler, type SamplerState } from '../../../src/agent/host-sampler.js';
import { parseMeminfo, parseProcStat, type HostCounters } from '../../../src/agent/host-counters.js';
import { ManualClock } from '../../../src/agent/clock.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS, type Sample } from '../../../src/schema/sample.js';
import { createLogger, silentLogger } from '../../../src/log/logger.js';
import { PassThrough } from 'node:stream';

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

const T0 = 1_764_252_000_000;
const GIB = 2 ** 30;

/** A host whose CPU is busy at `load` cores of 4, with 3 GiB of 8 used; time comes from the clock. */
function fakeHost(clock: ManualClock, boot = 'boot-1', load = 1.5) {
  const host = { boot, load, busy: 1000, lastMono: clock.monoMs() };
  const advanceCounters = () => {
    host.busy += ((clock.monoMs() - host.lastMono) / 1000) * host.load;
    host.lastMono = clock.monoMs();
  };
  const counters: HostCounters = {
    cpu: async () => {
      advanceCounters();
      return { busySeconds: host.busy, cores: 4 };
    },
    memory: async () => ({ totalBytes: 8 * GIB, usedBytes: 3 * GIB }),
    bootId: () => host.boot,
  };
  return { host, counters };
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { logger: createLogger({ stream, json: true, level: 'info' }), text: () => text };
}

/** Takes a sample and commits it, as sampleIntoSpool does once the spool has it. */
async function take(sampler: HostSampler): Promise<{ sample: Sample; state: string }> {
  const taken = await sampler.next();
  sampler.commit(taken.state);
  return taken;
}

function assertTiles(samples: Sample[]): void {
  for (let i = 1; i < samples.length; i++) assert.equal(samples[i]!.start, samples[i - 1]!.end, `window ${i} does not start where ${i - 1} ended`);
}

const memByteMs = (samples: Sample[]) => samples.reduce((sum, s) => sum + s.mem.usedBytes * (s.end - s.start), 0);
const busy = (samples: Sample[]) => samples.reduce((sum, s) => sum + s.cpu.busySeconds, 0);

test('windows tile time and carry the counter deltas', async () => {
  const clock = new ManualClock(T0);
  const { counters } = fakeHost(clock);
  const sampler = await HostSampler.create({ machine: 'web-1', labels: { team: 'a' }, counters, saved: undefined, logger: silentLogger, clock });
  assert.ok(sampler.initialState, 'a fresh start has a state to spool first');
  const samples: Sample[] = [];
  for (let i = 0; i < 3; i++) {
    clock.advance(5000);
    samples.push((await take(sampler)).sample);
  }
  assert.equal(samples[0]!.start, T0);
  assertTiles(samples);
  for (const s of samples) {
    assert.equal(s.cpu.busySeconds, 7.5);
    assert.equal(s.end - s.start, 5000);
    assert.equal(s.mem.usedBytes, 3 * GIB);
    assert.equal(checkSample(JSON.stringify(s), 'web-1', { now: clock.wallMs(), lateLimitMs: DEFAULT_LATE_LIMIT_MS }).ok, true);
  }
  assert.equal(new Set(samples.map((s) => s.id)).size, 3);
});

test('a restart on the same boot continues from the saved state; after a reboot it starts fresh, never before the last end', async () => {
  const clock = new ManualClock(T0);
  const { host, counters } = fakeHost(clock);
  const first = await HostSampler.create({ machine: 'web-1', labels: {}, counters, saved: undefined, logger: silentLogger, clock });
  clock.advance(5000);
  const last = await take(first);
  // Down for 12 s, busy meanwhile: that usage belongs in the next window.
  clock.advance(12_000);
  const second = await HostSampler.create({ machine: 'web-1', labels: {}, counters, saved: last.state, logger: silentLogger, clock });
  assert.equal(second.initialState, undefined);
  clock.advance(5000);
  const resumed = (await take(second)).sample;
  assert.equal(resumed.start, last.sample.end);
  assert.equal(resumed.end - resumed.start, 17_000);
  assert.equal(resumed.cpu.busySeconds, 17 * 1.5);
  assert.notEqual(resumed.id, last.sample.id);

  // Rebooted, and the new boot's clock is 30 s behind the last window's end.
  host.boot = 'boot-2';
  clock.step(-30_000);
  const rebooted = await HostSampler.create({ machine: 'web-1', labels: {}, counters, saved: last.state, logger: silentLogger, clock });
  clock.advance(5000);
  const fresh = (await take(rebooted)).sample;
  assert.equal(fresh.start, last.sample.end, 'no overlap with the previous boot');
  assert.ok(fresh.cpu.busySeconds <= 4 * ((fresh.end - fresh.start) / 1000));
});

test('a sample not spooled is taken again on restart, over the same window', async () => {
  const clock = new ManualClock(T0);
  const { counters } = fakeHost(clock);
  const a = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: undefined, logger: silentLogger, clock });
  clock.advance(5000);
  const lost = (await a.next()).sample; // killed before it reached the spool
  const b = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: a.initialState, logger: silentLogger, clock });
  clock.advance(1000);
  const again = (await take(b)).sample;
  assert.equal(again.start, lost.start);
  assert.equal(again.cpu.busySeconds, 6 * 1.5);
});

for (const stepMs of [3_000, 3_600_000]) {
  test(`a forward wall-clock step of ${stepMs / 1000} s is absorbed by the next window: no CPU or memory invented`, async () => {
    const clock = new ManualClock(T0);
    const { counters } = fakeHost(clock);
    const log = capture();
    const sampler = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: undefined, logger: log.logger, clock });
    const samples: Sample[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(5000);
      if (i === 2) clock.step(stepMs);
      samples.push((await take(sampler)).sample);
    }
    assertTiles(samples);
    const realSeconds = 30;
    assert.equal(samples.at(-1)!.end, clock.wallMs(), 'back on the wall clock at once');
    assert.equal(samples[2]!.end - samples[2]!.start, 5000 + stepMs, 'the third window spans the step');
    assert.ok(Math.abs(busy(samples) - realSeconds * 1.5) < 1e-6, `busy ${busy(samples)}`);
    const memError = Math.abs(memByteMs(samples) - 3 * GIB * realSeconds * 1000) / (3 * GIB * realSeconds * 1000);
    assert.ok(memError < 1e-6, `memory-time off by ${memError}`);
    assert.equal(sampler.clockSteps, 1);
    assert.match(log.text(), /wall clock stepped forward by/);
  });

  test(`a backward wall-clock step of ${stepMs / 1000} s: windows stay contiguous, run ahead, catch up; nothing lost`, async () => {
    const clock = new ManualClock(T0);
    const { counters } = fakeHost(clock);
    const log = capture();
    const sampler = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: undefined, logger: log.logger, clock });
    const samples: Sample[] = [];
    let ticks = 0;
    for (; ticks < 10 || sampler.leadMs > 0; ticks++) {
      assert.ok(ticks < 200_000, 'catches up');
      clock.advance(5000);
      if (ticks === 2) clock.step(-stepMs);
      samples.push((await take(sampler)).sample);
    }
    assertTiles(samples);
    for (const s of samples) {
      const c = checkSample(JSON.stringify(s), 'm', { now: s.end, lateLimitMs: DEFAULT_LATE_LIMIT_MS });
      assert.ok(c.ok, c.ok ? '' : c.reason);
    }
    assert.equal(samples.at(-1)!.end, clock.wallMs(), 'back on the wall clock');
    const realSeconds = ticks * 5;
    assert.ok(Math.abs(busy(samples) - realSeconds * 1.5) < 1e-3, `busy ${busy(samples)} vs ${realSeconds * 1.5}`);
    const memError = Math.abs(memByteMs(samples) - 3 * GIB * realSeconds * 1000) / (3 * GIB * realSeconds * 1000);
    assert.ok(memError < 1e-6, `memory-time off by ${memError}`);
    assert.equal(sampler.clockSteps, 1);
    assert.match(log.text(), /wall clock stepped back by/);
    // A step shorter than a window's room is absorbed in that window; a longer one is caught up over many.
    if (stepMs > 5000) assert.match(log.text(), /windows run ahead of the wall clock[\s\S]*windows are back on the wall clock/);
  });
}

test('jitter under a second is not a step and the memory reading is reported as is', async () => {
  const clock = new ManualClock(T0);
  const { counters } = fakeHost(clock);
  const sampler = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: undefined, logger: silentLogger, clock });
  clock.advance(5000);
  clock.step(400);
  const s = (await take(sampler)).sample;
  assert.equal(s.end - s.start, 5400);
  assert.equal(s.mem.usedBytes, 3 * GIB);
  assert.equal(sampler.clockSteps, 0);
});

test('the state of an agent before this one (counters file) is continued from', async () => {
  const clock = new ManualClock(T0);
  const { counters } = fakeHost(clock);
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'meter-legacy-'));
  writeFileSync(join(dir, 'counters-m.json'), JSON.stringify({ bootId: 'boot-1', machine: 'm', end: T0 - 5000, busySeconds: 1000 - 7.5 }));
  const sampler = await HostSampler.create({ machine: 'm', labels: {}, counters, saved: undefined, legacyDir: dir, logger: silentLogger, clock });
  const state = JSON.parse(sampler.initialState!) as SamplerState;
  assert.equal(state.end, T0 - 5000);
  clock.advance(5000);
  const s = (await take(sampler)).sample;
  assert.equal(s.start, T0 - 5000);
  assert.equal(s.cpu.busySeconds, 15);
});
