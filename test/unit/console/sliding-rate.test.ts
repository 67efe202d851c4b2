import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlidingRate } from '../../../src/console/sliding-rate.js';

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

test('a steady stream read in uneven batches reads within 5% of its rate, whenever it is asked', () => {
  const rnd = random(7);
  for (const perSecond of [2000, 200, 3.4]) {
    const meter = new SlidingRate();
    let t = 0;
    let owed = 0;
    const asks: number[] = [];
    while (t < 120_000) {
      const gap = 100 + rnd() * 1400; // batches every 0.1 to 1.5 s
      // Asked (a frame) at random moments between batches.
      const ask = t + rnd() * gap;
      t += gap;
      owed += (perSecond * gap) / 1000;
      const n = Math.floor(owed);
      owed -= n;
      if (ask > 35_000) {
        const r = meter.rate(ask);
        if (r !== null) asks.push(r);
      }
      meter.record(t, n);
    }
    assert.ok(asks.length > 50);
    const worst = Math.max(...asks.map((r) => Math.abs(r - perSecond) / perSecond));
    assert.ok(worst <= 0.05, `${perSecond}/s read as ${Math.min(...asks).toFixed(2)}..${Math.max(...asks).toFixed(2)}: ${(worst * 100).toFixed(1)}% off`);
  }
});

test("a fleet's bursts (each interval, in many batches over up to a second) read within 5% of its rate", () => {
  const rnd = random(11);
  const meter = new SlidingRate();
  const asks: number[] = [];
  // 10,000 machines every 5 s: 2,000/s, arriving as 40 batches spread over 0.2 to 1 s each interval.
  for (let burst = 0; burst < 40; burst++) {
    const start = burst * 5000 + rnd() * 300;
    const spread = 200 + rnd() * 800;
    for (let b = 0; b < 40; b++) meter.record(start + (b / 39) * spread, 250);
    for (let k = 0; k < 5; k++) {
      const at = start + spread + k * 800;
      if (at > 40_000) asks.push(meter.rate(at)!);
    }
  }
  const worst = Math.max(...asks.map((r) => Math.abs(r - 2000) / 2000));
  assert.ok(worst <= 0.05, `read as ${Math.min(...asks).toFixed(0)}..${Math.max(...asks).toFixed(0)}: ${(worst * 100).toFixed(1)}% off`);
});

test('the rate follows a change within the window, and falls to 0 when batches stop', () => {
  const meter = new SlidingRate(10_000);
  assert.equal(meter.rate(0), null);
  for (let t = 1000; t <= 30_000; t += 1000) meter.record(t, 100);
  assert.equal(meter.rate(30_000), 100);
  for (let t = 31_000; t <= 45_000; t += 1000) meter.record(t, 300);
  assert.equal(meter.rate(45_000), 300, 'the old rate has left the window');
  assert.ok(meter.rate(50_000)! < 300 * 0.8, 'five quiet seconds pull it down');
  assert.equal(meter.rate(60_000), 0);
});
