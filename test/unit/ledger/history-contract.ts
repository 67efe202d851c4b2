// The ledger's history reads (the console's detail view and sparklines), the same on every engine:
// sqlite-ledger.test.ts and postgres-ledger.test.ts run these against a fresh ledger of their engine.
// Each read is checked against the raw samples written, computed here independently (coverage with
// the billing core's covered windows, the reference the console's math shares).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ledger } from '../../../src/ledger/index.js';
import { coveredWindows } from '../../../src/billing/coverage.js';
import type { Sample } from '../../../src/schema/sample.js';
import { GiB, makeSample } from '../worker/fixtures.js';
import { HOUR, T0, batchOf } from './contract.js';
import { seededRandom } from '../../../src/agent/fleet-simulator.js';

// A seeded generator (mulberry32, the fleet simulator's), so a failure can be replayed.
const random = seededRandom;

/**
 * Windows as agents write them, over [start, start + span): tiling windows of 5-60 s, with gaps (an
 * agent down), repeats under a new id (a spool replayed after a restart) and windows that start inside
 * the previous one and end after it (an agent restarted mid-window). Window ends never go backwards.
 */
function agentWindows(machine: string, start: number, span: number, rnd: () => number): Sample[] {
  const out: Sample[] = [];
  let t = start;
  let seq = 0;
  while (t < start + span) {
    const r = rnd();
    if (r < 0.04) {
      t += Math.floor(rnd() * 20 * 60_000) + 1; // a gap of up to 20 minutes
      continue;
    }
    const windowMs = 5000 + Math.floor(rnd() * 55) * 1000;
    const cores = 2 + Math.floor(rnd() * 6);
    const sample = makeSample({ machine, seq: seq++, start: t, windowMs, cores, busySeconds: Math.round(rnd() * cores * (windowMs / 1000) * 1000) / 1000, usedBytes: Math.floor(rnd() * 8 * GiB), totalBytes: 8 * GiB });
    out.push(sample);
    if (r > 0.97) out.push({ ...sample, id: `${machine}:replay:${seq++}` });
    if (r > 0.94 && r <= 0.97) {
      const inside = t + Math.floor(windowMs / 2);
      out.push(makeSample({ machine, seq: seq++, agentStart: 2, start: inside, windowMs, cores, busySeconds: 1, usedBytes: GiB, totalBytes: 8 * GiB }));
      t = inside + windowMs;
      continue;
    }
    t += windowMs;
  }
  return out;
}

async function write(ledger: Ledger, samples: Sample[]): Promise<void> {
  // Batches of a few hundred, in offset order, as the worker writes them.
  let offset = 0;
  for (let i = 0; i < samples.length; i += 400) {
    const chunk = samples.slice(i, i + 400);
    const batch = batchOf(0, chunk.map((s) => [offset++, s] as [number, Sample]));
    assert.deepEqual(batch.rejects, [], 'every generated sample is valid');
    await ledger.applyBatch(batch);
  }
}

const windowOf = (s: Sample) => ({ start: s.start, end: s.end });

export function historyContract(engine: string, open: () => Promise<Ledger>): void {
  const withLedger = (fn: (ledger: Ledger) => Promise<void>) => async () => {
    const ledger = await open();
    try {
      await fn(ledger);
    } finally {
      await ledger.close();
    }
  };

  test(`${engine}: a machine's samples in a range, oldest first, exactly as written; only that machine's`, withLedger(async (ledger) => {
    const rnd = random(11);
    const web = agentWindows('web-1', T0 - 2 * HOUR, 3 * HOUR, rnd);
    const db = agentWindows('db-1', T0 - 2 * HOUR, 3 * HOUR, rnd);
    await write(ledger, [...web, ...db].sort((a, b) => a.start - b.start));
    for (const [from, to] of [
      [T0 - HOUR, T0],
      [T0 - 2 * HOUR - 1, T0 + 2 * HOUR],
      [T0 + 5 * HOUR, T0 + 6 * HOUR],
    ] as const) {
      const got = await ledger.machineSamples('web-1', from, to);
      const want = web.filter((s) => s.start >= from && s.start < to).sort((a, b) => a.start - b.start || a.end - b.end);
      assert.deepEqual(
        got.map((s) => [s.start, s.end, s.cores, s.cpuBusyUs, s.memUsedBytes, s.memTotalBytes]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!),
        want.map((s) => [s.start, s.end, s.cpu.cores, Math.round(s.cpu.busySeconds * 1e6), s.mem.usedBytes, s.mem.totalBytes]),
        `${from}..${to}`,
      );
      assert.ok(got.every((s, i) => i === 0 || got[i - 1]!.start <= s.start), 'oldest first');
    }
    assert.deepEqual(await ledger.machineSamples('nobody', T0 - 3 * HOUR, T0 + HOUR), []);
  }));

  test(`${engine}: the fleet's latest samples in one read: the last N since a time, per machine, oldest first`, withLedger(async (ledger) => {
    const samples: Sample[] = [];
    for (const [i, machine] of ['a', 'b', 'c', 'd'].entries()) {
      // c stopped an hour ago; d has only three samples.
      const count = machine === 'd' ? 3 : 40;
      const end = machine === 'c' ? T0 - HOUR : T0;
      for (let k = 0; k < count; k++) samples.push(makeSample({ machine, start: end - (count - k) * 5000, busySeconds: i + k / 100 }));
    }
    await write(ledger, samples);
    const got = await ledger.recentSamples(['a', 'c', 'd', 'missing'], T0 - 10 * 60_000, 24);
    assert.deepEqual([...got.keys()].sort(), ['a', 'd'], 'c has nothing since; unknown machines are left out');
    const a = got.get('a')!;
    assert.equal(a.length, 24);
    assert.deepEqual(
      a.map((s) => s.start),
      samples.filter((s) => s.machine === 'a').slice(-24).map((s) => s.start),
      'the latest 24, oldest first',
    );
    assert.equal(a.at(-1)!.cpuBusyUs, Math.round((0 + 39 / 100) * 1e6));
    assert.equal(got.get('d')!.length, 3);
    assert.equal((await ledger.recentSamples([], 0, 24)).size, 0);
    assert.equal((await ledger.recentSamples(['a'], T0 + HOUR, 24)).size, 0);
  }));

  test(`${engine}: a machine's hourly rollups match its raw samples, per hour and label set`, withLedger(async (ledger) => {
    const rnd = random(7);
    const before = agentWindows('web-1', T0 - 3 * HOUR, 2 * HOUR + 17 * 60_000, rnd).map((s) => ({ ...s, labels: { team: 'a' } }));
    // The labels change in the middle of an hour: that hour has a row per label set.
    const after = agentWindows('web-1', T0 - HOUR + 17 * 60_000, 2 * HOUR, rnd).map((s) => ({ ...s, id: `${s.id}:b`, labels: { team: 'b' } }));
    const other = agentWindows('db-1', T0 - 3 * HOUR, 4 * HOUR, rnd);
    const all = [...before, ...after, ...other].sort((x, y) => x.start - y.start);
    await write(ledger, all);
    const from = T0 - 3 * HOUR - 1; // a ragged start: the hours from T0 - 2 h on are asked for
    const to = T0 + HOUR;
    const got = await ledger.machineHourlyUsage('web-1', from, to);
    const want = new Map<string, { samples: number; cpu: bigint; mem: bigint }>();
    const seen = new Set<string>();
    for (const s of [...before, ...after]) {
      if (seen.has(s.id)) continue;
      seen.add(s.id);
      const hour = Math.floor(s.start / HOUR) * HOUR;
      if (hour < Math.ceil(from / HOUR) * HOUR || hour >= to) continue;
      const key = `${hour} ${s.labels.team}`;
      const w = want.get(key) ?? { samples: 0, cpu: 0n, mem: 0n };
      w.samples++;
      w.cpu += BigInt(Math.round(s.cpu.busySeconds * 1e6));
      w.mem += BigInt(s.mem.usedBytes) * BigInt(s.end - s.start);
      want.set(key, w);
    }
    assert.deepEqual(
      new Map(got.map((r) => [`${r.hour} ${r.labels.team}`, { samples: r.samples, cpu: r.cpuBusyUs, mem: r.memByteMs }])),
      want,
    );
    assert.ok(got.every((r, i) => i === 0 || got[i - 1]!.hour <= r.hour), 'oldest first');
    assert.equal(new Set(got.filter((r) => r.hour === Math.floor((T0 - HOUR + 17 * 60_000) / HOUR) * HOUR).map((r) => r.labels.team)).size, 2);
    assert.deepEqual(await ledger.machineHourlyUsage('web-1', T0 + 10 * HOUR, T0 + 11 * HOUR), []);
  }));

  test(`${engine}: what a machine's windows cover equals the union of its raw windows, over any range`, withLedger(async (ledger) => {
    const rnd = random(2026);
    const machines = ['web-1', 'web-2'];
    const samples = machines.flatMap((m) => agentWindows(m, T0 - 6 * HOUR, 6 * HOUR, rnd));
    await write(ledger, samples.sort((a, b) => a.start - b.start));
    const ranges: [number, number][] = [
      [T0 - 7 * HOUR, T0 + HOUR],
      [T0 - 6 * HOUR, T0],
      [T0 - 3 * HOUR, T0 - 2 * HOUR],
    ];
    for (let i = 0; i < 40; i++) {
      const from = T0 - 6 * HOUR + Math.floor(rnd() * 6 * HOUR);
      ranges.push([from, from + 1 + Math.floor(rnd() * 2 * HOUR)]);
    }
    let gaps = 0;
    for (const machine of machines) {
      const mine = samples.filter((s) => s.machine === machine).map(windowOf);
      for (const [from, to] of ranges) {
        const got = await ledger.machineCoverage(machine, from, to);
        const want = coveredWindows(mine, from, to);
        assert.deepEqual(got, want, `${machine} ${from - T0}..${to - T0}`);
        gaps += want.length;
      }
    }
    assert.ok(gaps > ranges.length * 2, 'the ranges cut through gaps, not only through covered time');
    assert.deepEqual(await ledger.machineCoverage('nobody', T0 - HOUR, T0), []);
    assert.deepEqual(await ledger.machineCoverage('web-1', T0, T0), []);
  }));
}
