import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FleetSimulator } from '../../../src/agent/fleet-simulator.js';
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
