// The console's production HistorySource against a real SQLite ledger written the way the worker
// writes it: each range's points, coverage and cost per day checked against the samples written,
// computed here independently (and against the in-memory reference source the UI tests use).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLedger, type Ledger } from '../../../src/ledger/index.js';
import { billingPeriod, computeInvoice, loadRateCard, parseRateCard, whatIfBook } from '../../../src/billing/index.js';
import { writeSamples } from '../ledger/write-samples.js';
import type { Sample } from '../../../src/schema/sample.js';
import { DAY, HOUR, MINUTE, historyWindow } from '../../../src/console/history.js';
import { LedgerHistory, samplePoint } from '../../../src/console/ledger-history.js';
import { costPerDay } from '../../../src/console/history-pricing.js';
import { MemoryHistory } from '../../helpers/memory-history.js';
import { expectedFlatCost, GiB, micros, tempLedgerPath } from '../worker/fixtures.js';

// 2026-11-03 12:00 UTC: two and a half days into the period.
const NOW = Date.UTC(2026, 10, 3, 12, 0, 0);
const PERIOD = billingPeriod(NOW);
const WINDOW = 60_000;
const GAP = { start: Date.UTC(2026, 10, 3, 9, 0, 0), end: Date.UTC(2026, 10, 3, 9, 45, 0) };
const defaults = loadRateCard();

/** web-1: one sample a minute from the period's start to now, busier by day, silent for 45 minutes. */
function fleet(): Sample[] {
  const out: Sample[] = [];
  let seq = 0;
  for (let t = PERIOD.from; t + WINDOW <= NOW; t += WINDOW) {
    const hour = new Date(t).getUTCHours();
    for (const machine of ['web-1', 'db-1']) {
      if (machine === 'web-1' && t + WINDOW > GAP.start && t < GAP.end) continue;
      const cores = machine === 'web-1' ? 4 : 16;
      const busy = ((hour >= 8 && hour < 20 ? 0.6 : 0.1) + (seq % 7) / 100) * cores * (WINDOW / 1000);
      out.push({
        v: 1,
        id: `${machine}:1:${seq++}`,
        machine,
        labels: { team: machine === 'web-1' ? 'search' : 'data' },
        start: t,
        end: t + WINDOW,
        cpu: { cores, busySeconds: Math.round(busy * 1000) / 1000 },
        mem: { totalBytes: 32 * GiB, usedBytes: (8 + (seq % 5)) * GiB },
      });
    }
  }
  return out;
}

async function writeLedger(samples: Sample[]): Promise<string> {
  const path = tempLedgerPath();
  const ledger = await openLedger(path);
  for (let i = 0; i < samples.length; i += 2000) await writeSamples(ledger, samples.slice(i, i + 2000), { now: NOW });
  await ledger.close();
  return path;
}

const samples = fleet();
const web = samples.filter((s) => s.machine === 'web-1');
let path: string;
let ledger: Ledger;
const history = () => new LedgerHistory(async () => ledger, defaults);

test('setup: a ledger of two machines over two and a half days', async () => {
  path = await writeLedger(samples);
  ledger = await openLedger(path, { readonly: true });
});

function close(a: number, b: number, what: string) {
  assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
}

test('the last hour: one point per sample window, as the in-memory reference source has them; latest is the newest end', async () => {
  const window = historyWindow('hour', NOW, PERIOD, 150);
  const got = await history().machineHistory('web-1', window);
  const reference = await new MemoryHistory(samples).machineHistory('web-1', window);
  assert.equal(got.points.length, 60);
  assert.equal(got.points.length, reference.points.length);
  got.points.forEach((p, i) => {
    assert.equal(p.at, reference.points[i]!.at);
    close(p.cpu, reference.points[i]!.cpu, `cpu at ${i}`);
    close(p.mem, reference.points[i]!.mem, `mem at ${i}`);
  });
  assert.equal(got.latest, web.at(-1)!.end);
});

test('the last 24 hours by 5 minutes and by hour: averaged as the reference does; the gap is an empty stretch', async () => {
  for (const columns of [150, 100]) {
    const window = historyWindow('day', NOW, PERIOD, columns);
    const got = await history().machineHistory('web-1', window);
    const reference = await new MemoryHistory(samples).machineHistory('web-1', window);
    assert.deepEqual(got.points.map((p) => [p.at, p.samples]), reference.points.map((p) => [p.at, p.samples]), `step ${window.stepMs}`);
    got.points.forEach((p, i) => close(p.cpu, reference.points[i]!.cpu, `cpu ${i}`));
  }
  const fiveMinutes = await history().machineHistory('web-1', historyWindow('day', NOW, PERIOD, 150));
  assert.equal(fiveMinutes.points.length, 288 - 9, 'a point per 5 minutes but for the 45 silent minutes');
  assert.ok(!fiveMinutes.points.some((p) => p.at > GAP.start + 5 * MINUTE && p.at <= GAP.end));
});

test('the period by day: CPU over cores x covered time, memory over total x covered time, from the rollups', async () => {
  const window = historyWindow('period', NOW, PERIOD, 150);
  const got = await history().machineHistory('web-1', window);
  assert.deepEqual(got.points.map((p) => new Date(p.at - 1).toISOString().slice(0, 10)), ['2026-11-01', '2026-11-02', '2026-11-03']);
  for (const p of got.points) {
    const day = web.filter((s) => s.start >= p.at - DAY && s.start < p.at);
    const coveredMs = day.reduce((a, s) => a + (s.end - s.start), 0);
    const busy = day.reduce((a, s) => a + s.cpu.busySeconds, 0);
    const held = day.reduce((a, s) => a + s.mem.usedBytes * (s.end - s.start), 0);
    assert.equal(p.samples, day.length);
    assert.ok(Math.abs(p.cpu - (busy / (4 * (coveredMs / 1000))) * 100) < 1e-6, `cpu on ${p.at}`);
    assert.ok(Math.abs(p.mem - (held / (32 * GiB * coveredMs)) * 100) < 1e-6, `mem on ${p.at}`);
  }
  assert.equal(got.latest, web.at(-1)!.end);
});

test('coverage of the period so far: the 45-minute gap listed, every other minute covered', async () => {
  const got = await history().machineHistory('web-1', historyWindow('hour', NOW, PERIOD, 150));
  assert.deepEqual(got.coverage.gaps, [GAP]);
  assert.equal(got.coverage.from, PERIOD.from);
  assert.equal(got.coverage.to, NOW);
  assert.equal(got.coverage.coveredMs, NOW - PERIOD.from - (GAP.end - GAP.start));
  const db = await history().machineHistory('db-1', historyWindow('period', NOW, PERIOD, 150));
  assert.deepEqual(db.coverage.gaps, []);
});

test("cost per day: each day's share of the machine's line, within a micro-unit per resource of its exact cost; the days add up to the invoice line", async () => {
  const got = await history().machineHistory('web-1', historyWindow('hour', NOW, PERIOD, 150));
  assert.deepEqual(got.costPerDay.map((d) => d.day), ['2026-11-01', '2026-11-02', '2026-11-03']);
  for (const d of got.costPerDay) {
    const day = web.filter((s) => s.start >= Date.parse(d.day) && s.start < Date.parse(d.day) + DAY);
    const exact = expectedFlatCost(day, 31_611n, 4_237n).total;
    const diff = micros(d.cost) - exact;
    assert.ok(diff >= -2n && diff <= 2n, `${d.day}: ${d.cost} for ${exact} micro-units`);
  }
  const invoice = await computeInvoice(ledger, { from: PERIOD.from, to: PERIOD.to, by: 'machine', now: NOW });
  const line = invoice.lines.find((l) => l.key === 'web-1')!;
  assert.equal(got.costPerDay.reduce((a, d) => a + micros(d.cost), 0n), micros(line.total));
});

test('cost per day through pooled graduated tiers and a plan (a what-if card): the days still add up to the invoice line', async () => {
  const card = parseRateCard({
    cpu: { tiers: [{ upTo: 20, price: 0.05 }, { price: 0.01 }] },
    plans: [{ name: 'search', match: { labels: { team: 'search' } }, memory: { mode: 'volume', tiers: [{ upTo: 100, price: 0.01 }, { price: 0.002 }] } }],
  });
  const days = await costPerDay(ledger, 'web-1', PERIOD, whatIfBook(card));
  const invoice = await computeInvoice(ledger, { from: PERIOD.from, to: PERIOD.to, by: 'machine', whatIf: card, now: NOW });
  assert.equal(days.reduce((a, d) => a + micros(d.cost), 0n), micros(invoice.lines.find((l) => l.key === 'web-1')!.total));
  // The detail view, given the card as a what-if, shows those same days.
  const viaHistory = await new LedgerHistory(async () => ledger, card).machineHistory('web-1', historyWindow('hour', NOW, PERIOD, 150));
  assert.deepEqual(viaHistory.costPerDay, days);
});

test('recent sparklines for many machines in one read: the last points since a time, as sample points', async () => {
  const got = await history().recentSparklines(['web-1', 'db-1', 'nobody'], { points: 24, since: NOW - 30 * MINUTE });
  assert.deepEqual([...got.keys()].sort(), ['db-1', 'web-1']);
  assert.deepEqual(got.get('web-1'), web.slice(-24).map((s) => samplePoint({ start: s.start, end: s.end, cores: s.cpu.cores, cpuBusyUs: Math.round(s.cpu.busySeconds * 1e6), memUsedBytes: s.mem.usedBytes, memTotalBytes: s.mem.totalBytes })));
});

test('a machine the ledger does not know: no points, no cost, the whole period a gap', async () => {
  const got = await history().machineHistory('nobody', historyWindow('period', NOW, PERIOD, 150));
  assert.deepEqual(got.points, []);
  assert.equal(got.latest, null);
  assert.deepEqual(got.costPerDay, []);
  assert.deepEqual(got.coverage.gaps, [{ start: PERIOD.from, end: NOW }]);
});

test('teardown', async () => {
  await ledger.close();
});
