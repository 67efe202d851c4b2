import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { costRates, coverageGaps, coveredMs, coveredWindows, machineRateMicros, type MachineCost } from '../../../src/billing/coverage.js';
import { busyMicros, CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, memByteMs, memoryUsage, formatMicros } from '../../../src/billing/money.js';
import { parseRateCard } from '../../../src/billing/rate-card.js';
import { costMicros } from '../../../src/billing/rating.js';

const HOUR = 3_600_000;
const now = Date.UTC(2026, 10, 20, 14, 37);
const defaults = parseRateCard({});

/** A machine sampled every 5 s from `startedAgoMs` until now, `cores` busy and `gib` GiB used: its cost in the last hour, and windows. */
function simulate(machine: string, labels: Record<string, string>, startedAgoMs: number, cores: number, gib: number) {
  const windows = [];
  let cpu = 0n;
  let mem = 0n;
  for (let start = now - startedAgoMs; start < now; start += 5000) {
    const end = Math.min(start + 5000, now);
    windows.push({ start, end });
    if (start < now - HOUR) continue; // the rate window is the last hour
    cpu += BigInt(busyMicros((cores * (end - start)) / 1000));
    const m = memoryUsage(gib * 2 ** 30, end - start);
    mem += memByteMs(BigInt(m.gibMs), BigInt(m.remByteMs));
  }
  const costMicrosInHour = costMicros(cpu, CPU_UNITS_PER_CORE_HOUR, defaults.cpu) + costMicros(mem, MEM_UNITS_PER_GIB_HOUR, defaults.memory);
  const trueRate = cores * 0.031611 + gib * 0.004237; // per hour, at the default prices
  const cost: MachineCost = { machine, labels, costMicros: costMicrosInHour, coveredMs: coveredMs(windows, now - HOUR, now), lastSeen: now };
  return { cost, windows, trueRate };
}

const rate = (micros: bigint) => Number(formatMicros(micros));

test('a machine that started two minutes ago shows its true hourly rate within 5%', () => {
  const { cost, trueRate } = simulate('new-1', {}, 2 * 60_000, 1.5, 3);
  assert.equal(cost.coveredMs, 120_000);
  const shown = rate(machineRateMicros(cost));
  assert.ok(Math.abs(shown - trueRate) / trueRate < 0.05, `${shown} vs ${trueRate}`);
  // Dividing by the fixed one-hour window, as before, was 30 times too low.
  const fixedWindow = rate(cost.costMicros);
  assert.ok(fixedWindow < trueRate / 25, `${fixedWindow}`);
});

test("a fleet's and a label's rate are the sums of their machines' rates, each from its own covered time", () => {
  const fleet = [
    simulate('web-1', { team: 'search' }, 2 * 60_000, 2, 8),
    simulate('web-2', { team: 'search' }, 17 * 60_000, 0.5, 4),
    simulate('db-1', { team: 'ads' }, HOUR, 6, 48),
    simulate('db-2', { team: 'ads' }, 3 * HOUR, 6, 48),
    simulate('ci-1', {}, 40 * 60_000, 3, 2),
  ];
  const trueFleet = fleet.reduce((s, m) => s + m.trueRate, 0);
  const [all] = costRates(fleet.map((m) => m.cost), 'fleet');
  assert.ok(Math.abs(rate(all!.perHourMicros) - trueFleet) / trueFleet < 0.05, `${rate(all!.perHourMicros)} vs ${trueFleet}`);
  assert.equal(all!.machines, 5);
  assert.equal(all!.minCoveredMs, 120_000, 'how little the newest rate rests on');
  const byTeam = costRates(fleet.map((m) => m.cost), { label: 'team' });
  assert.deepEqual(byTeam.map((r) => r.key), ['(none)', 'ads', 'search']);
  assert.equal(byTeam.reduce((s, r) => s + r.perHourMicros, 0n), all!.perHourMicros);
  const byMachine = costRates(fleet.map((m) => m.cost), 'machine');
  assert.equal(byMachine.reduce((s, r) => s + r.perHourMicros, 0n), all!.perHourMicros);
});

test('a machine that stopped reporting costs nothing now; one with no coverage has no rate', () => {
  const running = simulate('a', {}, HOUR, 1, 1).cost;
  const stopped = { ...simulate('b', {}, HOUR, 1, 1).cost, lastSeen: now - 20 * 60_000 };
  const [fleet] = costRates([running, stopped], 'fleet', { now, staleAfterMs: 15_000 });
  assert.equal(fleet!.perHourMicros, machineRateMicros(running));
  assert.equal(fleet!.stopped, 1);
  assert.equal(machineRateMicros({ costMicros: 5n, coveredMs: 0 }), 0n);
  assert.deepEqual(costRates([{ ...stopped }], 'fleet', { now, staleAfterMs: 15_000 })[0], { key: 'fleet', perHourMicros: 0n, machines: 0, stopped: 1, minCoveredMs: 0 });
});

test('covered time: overlaps and repeats count once, windows are clipped, gaps are the rest', () => {
  const w = [
    { start: 0, end: 10 },
    { start: 5, end: 15 },
    { start: 5, end: 15 },
    { start: 30, end: 40 },
    { start: 95, end: 120 },
  ];
  assert.equal(coveredMs(w, 0, 100), 30);
  assert.deepEqual(coveredWindows(w, 0, 100), [{ start: 0, end: 15 }, { start: 30, end: 40 }, { start: 95, end: 100 }]);
  assert.deepEqual(coverageGaps(w, 0, 100), [{ start: 15, end: 30 }, { start: 40, end: 95 }]);
  assert.deepEqual(coverageGaps([], 0, 100), [{ start: 0, end: 100 }]);
  fc.assert(
    fc.property(fc.array(fc.record({ start: fc.integer({ min: -50, max: 200 }), length: fc.integer({ min: 0, max: 60 }) })), (raw) => {
      const windows = raw.map((r) => ({ start: r.start, end: r.start + r.length }));
      const covered = coveredMs(windows, 0, 100);
      const gaps = coverageGaps(windows, 0, 100);
      assert.equal(covered + gaps.reduce((s, g) => s + g.end - g.start, 0), 100, 'covered and gaps tile the range');
      // Brute force, millisecond by millisecond.
      let count = 0;
      for (let t = 0; t < 100; t++) if (windows.some((x) => x.start <= t && t < x.end)) count++;
      assert.equal(covered, count);
    }),
  );
});
