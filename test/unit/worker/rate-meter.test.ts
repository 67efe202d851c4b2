// The worker's samples/s against streams whose true rate is known: steady, and in bursts as agents
// publish them (a whole interval's samples at once), at intervals that do and do not divide the window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter } from '../../../src/worker/rate-meter.js';

interface Stream {
  /** Batch times (ms) and the samples each applied. */
  events: { t: number; n: number }[];
}

/** Bursts of `size` samples every `periodMs`, each applied as `parts` batches over `drainMs`, with jitter. */
function bursts(size: number, periodMs: number, untilMs: number, drainMs = 150, parts = 3, jitterMs = 40, seed = 7): Stream {
  let s = seed;
  const random = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events: Stream['events'] = [];
  for (let start = 500; start < untilMs; start += periodMs) {
    const t0 = start + random() * jitterMs;
    for (let i = 0; i < parts; i++) events.push({ t: t0 + ((i + 1) * drainMs) / parts, n: size / parts });
  }
  return { events };
}

/** Feeds the stream and reads the rate at each reading time (in order). */
function readings(stream: Stream, at: number[], windowMs?: number): { t: number; rate: number }[] {
  const meter = new RateMeter(windowMs);
  meter.observe(0, 0);
  let total = 0;
  let e = 0;
  const out: { t: number; rate: number }[] = [];
  for (const t of at) {
    while (e < stream.events.length && stream.events[e]!.t <= t) {
      total += stream.events[e]!.n;
      meter.observe(total, stream.events[e]!.t);
      e++;
    }
    out.push({ t, rate: meter.rate(t) });
  }
  return out;
}

const ticks = (from: number, to: number, step: number) => Array.from({ length: Math.floor((to - from) / step) }, (_, i) => from + i * step);
const off = (rate: number, truth: number) => Math.abs(rate - truth) / truth;

test('a steady stream reads its rate', () => {
  const events = ticks(0, 90_000, 100).map((t) => ({ t: t + 50, n: 100 }));
  for (const r of readings({ events }, ticks(35_000, 90_000, 333))) assert.ok(off(r.rate, 1000) < 0.01, `${r.rate} at ${r.t}`);
});

test('bursts every 5 s (10,000 simulated machines): 2,000/s, not 2,500/s, read once a second with a drifting timer', () => {
  const stream = bursts(10_000, 5000, 200_000);
  // setInterval(1000) runs a little late each time, so the readings fall at every phase of the bursts.
  const at = ticks(0, 120, 1).map((i) => 60_000 + i * 1003);
  for (const r of readings(stream, at)) assert.ok(off(r.rate, 2000) < 0.02, `${Math.round(r.rate)}/s at ${r.t}`);
});

test('bursts at any interval up to the window, drained fast or slowly, some a second late, read within 5% at every phase', () => {
  for (const [periodMs, drainMs, parts, jitterMs] of [
    [1000, 150, 3, 40],
    [2500, 800, 6, 40],
    [2500, 150, 3, 1000],
    [3000, 100, 3, 40],
    [4000, 150, 3, 40],
    [7000, 1500, 6, 300],
    [9000, 300, 3, 40],
    [20_000, 300, 3, 40],
    [30_000, 150, 3, 40],
  ] as const) {
    const truth = (1000 * 1000) / periodMs;
    const all = readings(bursts(1000, periodMs, 400_000, drainMs, parts, jitterMs), ticks(130_000, 390_000, 97));
    for (const r of all) assert.ok(off(r.rate, truth) < 0.05, `period ${periodMs}: ${r.rate.toFixed(1)}/s at ${r.t}, truth ${truth.toFixed(1)}`);
    const sorted = all.map((r) => r.rate).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    assert.ok(off(median, truth) < 0.01, `period ${periodMs}: median ${median}`);
  }
});

test('when samples stop the rate falls to 0; when they start after a pause it reads the window honestly', () => {
  const steady = ticks(0, 40_000, 100).map((t) => ({ t, n: 100 }));
  const [during, soonAfter, later] = readings({ events: steady }, [39_950, 41_000, 70_100]);
  assert.ok(off(during!.rate, 1000) < 0.01, `${during!.rate}`);
  assert.ok(soonAfter!.rate < 980, `silence counts as time with nothing: ${soonAfter!.rate}`);
  assert.equal(later!.rate, 0, 'a window after the last batch');

  // 90 s of nothing, then 1,000/s for 3 s: about 100/s over the last 30 s.
  const resumed = ticks(90_000, 93_000, 100).map((t) => ({ t: t + 100, n: 100 }));
  const [r] = readings({ events: resumed }, [93_050]);
  assert.ok(r!.rate > 90 && r!.rate < 110, `${r!.rate}`);
});

test('a 10 s window reads bursts every 2.5 s within 1%, where one cut at fixed instants reads 500 or 1,000/s', () => {
  const all = readings(bursts(2000, 2500, 120_000), ticks(25_000, 110_000, 1003), 10_000);
  for (const r of all) assert.ok(off(r.rate, 800) < 0.01, `${r.rate} at ${r.t}`);
});
