// The console's ledger thread: the cost store's state and the history's answers come from a real
// SQLite ledger read on a thread of its own, and the main thread's event loop keeps turning while it
// reads; a missing ledger is a message, and one created later is found.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openLedger } from '../../../src/ledger/index.js';
import { billingPeriod, loadRateCard } from '../../../src/billing/index.js';
import { writeSamples } from '../ledger/write-samples.js';
import type { Sample } from '../../../src/schema/sample.js';
import { LedgerReader } from '../../../src/console/ledger-reader.js';
import { LedgerStore } from '../../../src/console/ledger-store.js';
import { historyWindow, HOUR } from '../../../src/console/history.js';

const card = loadRateCard();
const GiB = 2 ** 30;

/** A ledger with `machines` machines over the last `minutes` minutes, a sample a minute each. */
async function writeLedger(path: string, machines: number, minutes: number, now: number): Promise<void> {
  const ledger = await openLedger(path);
  for (let m = 0; m < minutes; m++) {
    const samples: Sample[] = [];
    for (let i = 0; i < machines; i++) {
      const start = now - (minutes - m) * 60_000;
      samples.push({ v: 1, id: `m-${i}:1:${m}`, machine: `m-${i}`, labels: { team: `t${i % 3}` }, start, end: start + 60_000, cpu: { cores: 4, busySeconds: 60 + (i % 100) }, mem: { totalBytes: 16 * GiB, usedBytes: 4 * GiB } });
    }
    await writeSamples(ledger, samples, { now });
  }
  await ledger.close();
}

function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() - started > ms) reject(new Error('timed out'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

test('the thread mirrors the cost store: the same machines, costs and totals as a store read in-process', async () => {
  const now = Date.now();
  const path = join(mkdtempSync(join(tmpdir(), 'meter-reader-')), 'ledger.db');
  // More machines than one state message carries: the state comes in parts.
  await writeLedger(path, 2500, 3, now);
  let changes = 0;
  const reader = new LedgerReader({ path, rateCard: card, pollMs: 60_000, costBy: 'label:team', onChange: () => changes++ });
  try {
    reader.start();
    await waitFor(() => reader.view.state === 'ok');
    assert.ok(changes > 0);
    const local = new LedgerStore({ path, rateCard: card, pollMs: 60_000, costBy: 'label:team' });
    await local.poll();
    assert.deepEqual([...reader.machines.keys()].sort(), [...local.machines.keys()].sort());
    assert.equal(reader.machines.size, 2500);
    // (Costs per hour and forecasts follow the clock: compare what does not.)
    const settled = (m: { machine: string; labels: unknown; lastSeen: number; periodCost: string } | undefined) => m && { machine: m.machine, labels: m.labels, lastSeen: m.lastSeen, periodCost: m.periodCost };
    assert.deepEqual(settled(reader.machines.get('m-2400')), settled(local.machines.get('m-2400')));
    assert.deepEqual(reader.costs?.lines, local.costs?.lines);
    assert.equal(reader.fleet.periodCost, local.fleet.periodCost);
    assert.deepEqual(reader.view.unbilledOffsets, { lost: 0, skipped: 0 });
    assert.equal(reader.drainChanged().size, 2500, 'every machine is new');
    const map = reader.machines;
    const before = new Map(reader.machines);
    await reader.poll();
    const changed = reader.drainChanged();
    assert.equal(reader.machines, map, 'the map is updated in place');
    // Only machines whose shown costs moved (forecasts follow the clock) are said to have changed.
    for (const [name, cost] of reader.machines) {
      const was = before.get(name)!;
      if (changed.has(name)) assert.notDeepEqual(cost, was, name);
      else assert.equal(cost, was, `${name} is the same object`);
    }
    await reader.setCostBy('machine');
    assert.equal(reader.costs?.by, 'machine');
    assert.equal(reader.costs?.lines.length, 2500);
    assert.deepEqual(reader.costs?.lines.map((l) => l.key).sort(), [...local.machines.keys()].sort());
    local.stop();
  } finally {
    reader.stop();
  }
});

test('history questions are answered on the thread; the main event loop keeps turning meanwhile', async () => {
  const now = Date.now();
  const path = join(mkdtempSync(join(tmpdir(), 'meter-reader-')), 'ledger.db');
  await writeLedger(path, 400, 60, now);
  const reader = new LedgerReader({ path, rateCard: card, pollMs: 60_000, costBy: 'machine' });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  try {
    reader.start();
    await waitFor(() => reader.view.state === 'ok');
    loop.enable();
    const period = billingPeriod(now);
    const [detail, sparks] = await Promise.all([
      reader.machineHistory('m-3', historyWindow('hour', now, period, 150)),
      reader.recentSparklines(Array.from({ length: 400 }, (_, i) => `m-${i}`), { points: 24, since: now - HOUR }),
    ]);
    loop.disable();
    assert.equal(detail.points.length, 60, 'the last hour, a point per sample');
    assert.ok(Math.abs(detail.points[0]!.cpu - ((60 + 3) / (4 * 60)) * 100) < 1e-9);
    assert.equal(detail.latest, now);
    assert.ok(detail.costPerDay.length >= 1);
    assert.equal(sparks.size, 400);
    assert.equal(sparks.get('m-399')!.length, 24);
    // The reads ran on the thread: this loop was never held for long.
    assert.ok(loop.max / 1e6 < 200, `event loop delay ${loop.max / 1e6} ms`);
  } finally {
    reader.stop();
  }
});

test('a missing ledger is a message from the thread, and the ledger is found once it exists', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'meter-reader-')), 'later.db');
  const reader = new LedgerReader({ path, rateCard: card, pollMs: 100, costBy: 'machine' });
  try {
    reader.start();
    await waitFor(() => reader.view.state === 'missing');
    assert.match(reader.view.message!, /no ledger at .*later\.db yet/);
    await assert.rejects(reader.machineHistory('x', historyWindow('hour', Date.now(), billingPeriod(Date.now()), 100)), /not found/);
    await writeLedger(path, 2, 2, Date.now());
    await waitFor(() => reader.view.state === 'ok');
    assert.equal(reader.machines.size, 2);
  } finally {
    reader.stop();
  }
  await assert.rejects(reader.poll(), /closing/, 'a stopped reader answers nothing');
});
