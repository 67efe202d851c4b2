// Kills the agent (deterministically) at every write it makes to disk, with a torn write where the
// write is an append, then restarts it, and checks what reached the "wire": every window once, no
// overlap, no gap, and all the CPU and memory the host used. Real spool files, the real sampling step
// (sampleIntoSpool) and the real sampler; only the clock, the counters and Kafka are stand-ins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../src/agent/clock.js';
import type { HostCounters } from '../../../src/agent/host-counters.js';
import { hostSource, sampleIntoSpool } from '../../../src/agent/sample-source.js';
import { Spool } from '../../../src/agent/spool.js';
import { FaultySpoolIo, InjectedCrash, realSpoolIo, type SpoolIo } from '../../../src/agent/spool-io.js';
import { silentLogger } from '../../../src/log/logger.js';
import type { Sample } from '../../../src/schema/sample.js';

const T0 = 1_764_252_000_000;
const TICKS = 40;
const LOAD = 2.25; // busy cores of 4
const USED = 3 * 2 ** 30;

interface World {
  dir: string;
  clock: ManualClock;
  counters: HostCounters;
  busyAt: () => number;
  ticks: number;
  wire: string[];
  /** Where metering begins: the start of the first run whose first record (its start) got written whole. */
  firstStart: number | undefined;
  runStart: number;
}

/** The real io, noting when the first whole append lands (a run's start record). */
function noting(world: World): SpoolIo {
  return {
    ...realSpoolIo,
    append: (fd, data) => {
      realSpoolIo.append(fd, data);
      if (data.at(-1) === 0x0a) world.firstStart ??= world.runStart; // whole lines, not a torn half
    },
  };
}

function newWorld(): World {
  const clock = new ManualClock(T0);
  const startMono = clock.monoMs();
  const busyAt = () => 5000 + ((clock.monoMs() - startMono) / 1000) * LOAD;
  return {
    dir: mkdtempSync(join(tmpdir(), 'meter-crash-')),
    clock,
    busyAt,
    counters: {
      cpu: async () => ({ busySeconds: busyAt(), cores: 4 }),
      memory: async () => ({ totalBytes: 8 * 2 ** 30, usedBytes: USED }),
      bootId: () => 'boot-1',
    },
    ticks: 0,
    wire: [],
    firstStart: undefined,
    runStart: T0,
  };
}

/** Stands in for the publisher: sends what is spooled (to `wire`), then acknowledges it. */
function publish(spool: Spool, wire: string[]): void {
  for (;;) {
    const batch = spool.peek(7);
    if (batch.records.length === 0) return;
    wire.push(...batch.records.map((r) => r.value));
    spool.ack(batch.next, batch.records.length);
  }
}

/** One run of the agent until TICKS intervals have passed, or until the io crashes it. */
async function runAgent(world: World, io: SpoolIo): Promise<'done' | 'crashed'> {
  world.runStart = world.clock.wallMs();
  try {
    // 2 KB labels: segments (64 KiB) roll over every ~30 samples, so those writes are crashed at too.
    const spool = Spool.open(world.dir, { maxBytes: 1 << 20, logger: silentLogger, io });
    const source = await hostSource(spool, { machine: 'm', labels: { pad: 'x'.repeat(2000) }, counters: world.counters, logger: silentLogger, clock: world.clock });
    // At least one window per run, so the last run meters the time up to the end.
    do {
      world.clock.advance(5000);
      world.ticks++;
      await sampleIntoSpool(source, spool);
      if (world.ticks % 3 === 0) publish(spool, world.wire);
    } while (world.ticks < TICKS);
    publish(spool, world.wire);
    spool.close();
    return 'done';
  } catch (error) {
    if (!(error instanceof InjectedCrash)) throw error;
    world.clock.advance(1700); // down for a while: that time must be metered too
    return 'crashed';
  }
}

function checkWire(world: World, label: string): void {
  const firstStart = world.firstStart!;
  const byId = new Map<string, string>();
  for (const body of world.wire) {
    const id = (JSON.parse(body) as Sample).id;
    assert.equal(byId.get(id) ?? body, body, `${label}: id ${id} sent twice with different bodies`);
    byId.set(id, body);
  }
  const samples = [...byId.values()].map((b) => JSON.parse(b) as Sample).sort((a, b) => a.start - b.start);
  assert.equal(samples[0]!.start, firstStart, `${label}: metering starts at the first start on disk`);
  for (let i = 1; i < samples.length; i++) {
    assert.equal(samples[i]!.start, samples[i - 1]!.end, `${label}: window ${i} overlaps or leaves a gap`);
  }
  const end = samples.at(-1)!.end;
  assert.equal(end, world.clock.wallMs(), `${label}: metered up to the end`);
  const busy = samples.reduce((sum, s) => sum + s.cpu.busySeconds, 0);
  const expected = world.busyAt() - 5000 - ((firstStart - T0) / 1000) * LOAD;
  assert.ok(Math.abs(busy - expected) < 1e-4, `${label}: busy ${busy} vs ${expected}`);
  const byteMs = samples.reduce((sum, s) => sum + s.mem.usedBytes * (s.end - s.start), 0);
  assert.equal(byteMs, USED * (end - firstStart), `${label}: memory-time`);
}

test('a kill at any write to disk (torn where it is an append) neither repeats nor loses a window', async () => {
  const probe = newWorld();
  const counting = new FaultySpoolIo(Infinity, noting(probe));
  assert.equal(await runAgent(probe, counting), 'done');
  checkWire(probe, 'no crash');
  assert.equal(probe.firstStart, T0);
  rmSync(probe.dir, { recursive: true, force: true });
  const writes = counting.count;
  assert.ok(writes > 2 * TICKS, `counted ${writes} writes`);

  for (let crashAt = 1; crashAt <= writes; crashAt++) {
    const world = newWorld();
    let crashes = 0;
    // The first run dies at write n; the restarted one dies again a few writes later (during its own
    // repair, for some n); the third runs to the end.
    for (const io of [new FaultySpoolIo(crashAt, noting(world)), new FaultySpoolIo((crashAt % 5) + 1, noting(world)), noting(world)]) {
      if ((await runAgent(world, io)) === 'crashed') crashes++;
      else break;
    }
    assert.ok(crashes >= 1, `write ${crashAt}: the crash happened`);
    // Killed while writing its first record (where metering begins), an agent has not started as far
    // as the disk knows: metering begins with the run that wrote it.
    checkWire(world, `crash at write ${crashAt}`);
    rmSync(world.dir, { recursive: true, force: true });
  }
});
