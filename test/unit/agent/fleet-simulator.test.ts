import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetSimulator } from '../../../src/agent/fleet-simulator.js';
import { fleetParts } from '../../../src/agent/sample-source.js';
import { checkSample, DEFAULT_LATE_LIMIT_MS } from '../../../src/schema/sample.js';

test('every simulated machine is distinct, labelled and publishes valid Sample v1 windows that tile', () => {
  const start = Date.now() - 60_000;
  const fleet = new FleetSimulator({ count: 500, start, labels: { fleet: 'demo' } });
  const names = new Set(fleet.machines.map((m) => m.machine));
  assert.equal(names.size, 500);
  const byMachine = new Map<string, number>();
  for (let t = 1; t <= 6; t++) {
    const samples = fleet.next(start + t * 5000);
    assert.equal(samples.length, 500);
    for (const s of samples) {
      const check = checkSample(JSON.stringify(s), s.machine, { now: start + 60_000, lateLimitMs: DEFAULT_LATE_LIMIT_MS });
      assert.ok(check.ok, check.ok ? '' : `${s.machine}: ${check.reason}`);
      assert.equal(s.labels.fleet, 'demo');
      assert.ok(s.labels.team && s.labels.env);
      if (byMachine.has(s.machine)) assert.equal(s.start, byMachine.get(s.machine));
      byMachine.set(s.machine, s.end);
    }
  }
});

test('the fleet mixes idle, busy and bursty machines', () => {
  const start = 1_764_252_000_000;
  const fleet = new FleetSimulator({ count: 100, start });
  const utilisation = new Map<string, number[]>();
  for (let t = 1; t <= 60; t++) {
    for (const s of fleet.next(start + t * 5000)) {
      const u = s.cpu.busySeconds / (s.cpu.cores * 5);
      utilisation.set(s.machine, [...(utilisation.get(s.machine) ?? []), u]);
    }
  }
  const means = [...utilisation.values()].map((us) => us.reduce((a, b) => a + b, 0) / us.length);
  const peaks = [...utilisation.values()].map((us) => Math.max(...us));
  assert.ok(means.filter((m) => m < 0.06).length >= 10, 'some idle machines');
  assert.ok(means.filter((m) => m > 0.7).length >= 10, 'some busy machines');
  // Bursty: low on average, high at times.
  assert.ok(means.some((m, i) => m < 0.3 && peaks[i]! > 0.7), 'some bursty machines');
});

test('taken in parts, every machine is in exactly one part and its windows still tile', () => {
  const start = Date.now() - 60_000;
  const fleet = new FleetSimulator({ count: 103, start });
  const parts = fleetParts(103, 5000, true);
  assert.equal(parts, 20, 'one part every 250 ms of a 5 s interval');
  const lastEnd = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    const seen = new Set<string>();
    for (let part = 0; part < parts; part++) {
      const at = start + round * 5000 + (part + 1) * 250;
      for (const s of fleet.next(at, part, parts)) {
        assert.ok(!seen.has(s.machine), `${s.machine} twice in one interval`);
        seen.add(s.machine);
        assert.equal(s.end, at);
        assert.equal(s.start, lastEnd.get(s.machine) ?? start);
        lastEnd.set(s.machine, s.end);
      }
    }
    assert.equal(seen.size, 103, 'every machine once an interval');
  }
  assert.equal(fleetParts(103, 5000, false), 1, 'in step: one part');
  assert.equal(fleetParts(3, 5000, true), 3, 'at least one machine a part');
  assert.equal(fleetParts(10, 100, true), 1, 'an interval too short to split');
});
