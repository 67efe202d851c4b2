import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openLedger } from '../../../src/ledger/index.js';
import { addLedgerPriceVersion, loadRateCard, parseRateCard } from '../../../src/billing/index.js';
import { BatchPreparer } from '../../../src/worker/prepare.js';
import type { Sample } from '../../../src/schema/sample.js';
import { LedgerStore, sumDecimals } from '../../../src/console/ledger-store.js';

const HOUR = 3_600_000;
const GiB = 2 ** 30;
const NOW = Date.UTC(2026, 10, 15, 12, 0, 0);
const card = loadRateCard();

function sample(machine: string, start: number, labels: Record<string, string>, cores = 4, busy = 10): Sample {
  return {
    v: 1,
    id: `${machine}:0:${start}`,
    machine,
    labels,
    start,
    end: start + 5000,
    cpu: { cores, busySeconds: busy },
    mem: { totalBytes: 16 * GiB, usedBytes: 8 * GiB },
  };
}

/** A ledger with two machines billed for the last two hours, written the way the worker writes it. */
async function writeLedger(): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'meter-console-ledger-')), 'ledger.db');
  const ledger = await openLedger(path);
  const preparer = new BatchPreparer();
  const samples: Sample[] = [];
  for (let t = NOW - 2 * HOUR; t < NOW; t += 5000) {
    samples.push(sample('web-1', t, { team: 'search' }), sample('db-1', t, { team: 'data' }, 8, 20));
  }
  const messages = samples.map((s, i) => ({ offset: String(i), key: Buffer.from(s.machine), value: Buffer.from(JSON.stringify(s)), timestamp: String(s.end) }));
  const prepared = preparer.prepare(messages);
  await ledger.applyBatch({ group: 'billing', topic: 'resource_usage', partition: 0, fetchedOffset: 0, lastOffset: messages.length - 1, samples: prepared.samples, rejects: [], now: NOW });
  await ledger.close();
  return path;
}

test('a missing ledger is a message that says what to do, and the store keeps trying', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'meter-console-')), 'none.db');
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  assert.equal(store.view.state, 'missing');
  assert.match(store.view.message!, /no ledger at .*none\.db yet: start `meter worker` or pass --ledger/);
  assert.equal(store.machines.size, 0);
});

test('a file that is not a ledger is an error in one line', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'meter-console-')), 'junk.db');
  writeFileSync(path, 'not sqlite at all');
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  assert.equal(store.view.state, 'error');
  assert.ok(!store.view.message!.includes('\n'));
});

test('per machine: cost per hour, period cost and forecast; fleet totals add up exactly', async () => {
  const path = await writeLedger();
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  assert.equal(store.view.state, 'ok', store.view.message);
  assert.deepEqual(store.view.unbilledOffsets, { lost: 0, skipped: 0 }, 'the ledger stats the console shows a warning from');
  assert.deepEqual([...store.machines.keys()].sort(), ['db-1', 'web-1']);
  const web = store.machines.get('web-1')!;
  // 2 h of 10 busy seconds per 5 s (2 cores busy) and 8 GiB: 4 core-hours and 16 GiB-hours.
  const expected = (4 * 0.031611 + 16 * 0.004237).toFixed(6);
  assert.equal(web.periodCost, expected);
  assert.equal(web.labels.team, 'search');
  assert.ok(Number(web.costPerHour) > 0);
  assert.ok(Number(web.forecast) > Number(web.periodCost), 'the forecast runs to the end of the month');
  assert.equal(store.fleet.periodCost, sumDecimals([web.periodCost, store.machines.get('db-1')!.periodCost]));
  assert.equal(store.fleet.costPerHour, sumDecimals([web.costPerHour, store.machines.get('db-1')!.costPerHour]));
  assert.equal(store.costs!.by, 'machine');
  assert.deepEqual(store.costs!.lines.map((l) => l.key).sort(), ['db-1', 'web-1']);
  assert.equal(store.costs!.lines.find((l) => l.key === 'web-1')!.cpuCoreHours, 4);
  store.stop();
});

test("the fleet totals carry the forecast's short-history flag and whether the prices are a --rates what-if", async () => {
  const path = await writeLedger();
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  // Two hours of history: a run-rate flagged as short, with no interval yet.
  assert.equal(store.fleet.whatIf, false, "no --rates: the ledger's prices");
  assert.equal(store.fleet.forecastShortHistory, true);
  assert.equal(store.fleet.forecastLower, null);
  assert.equal(store.fleet.forecast, store.forecast!.total);
  store.stop();
  const file = join(mkdtempSync(join(tmpdir(), 'meter-console-rates-')), 'rates.yaml');
  writeFileSync(file, 'cpu: 1\nmemory: 0\n');
  const whatIf = new LedgerStore({ path, rateCard: loadRateCard(file), pollMs: 1000, costBy: 'machine', now: () => NOW });
  assert.equal(whatIf.fleet.whatIf, true, 'said before the first poll too');
  await whatIf.poll();
  assert.equal(whatIf.fleet.whatIf, true);
  // 4 + 8 core-hours at 1 a core-hour: priced with the card, not the ledger's defaults.
  assert.equal(whatIf.fleet.periodCost, '12.000000');
  whatIf.stop();
});

test('without --rates, the budgets are those stored with the price version in force, as `meter budgets` reads them', async () => {
  const path = await writeLedger();
  const ledger = await openLedger(path);
  await addLedgerPriceVersion(ledger, parseRateCard({ budgets: [{ label: 'team=search', amount: 1 }] }), NOW - 30 * 24 * HOUR, NOW);
  await ledger.close();
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  assert.equal(store.view.state, 'ok', store.view.message);
  assert.deepEqual(store.budgets.map((b) => [b.name, b.level]), [['team=search', 'over']]);
  store.stop();
});

test('the cost pane can total by a label', async () => {
  const path = await writeLedger();
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  await store.setCostBy('label:team');
  assert.equal(store.costs!.by, 'label:team');
  assert.deepEqual(store.costs!.lines.map((l) => l.key).sort(), ['data', 'search']);
  store.stop();
});

test('a locked ledger says so and does not freeze the caller for long', async () => {
  const path = await writeLedger();
  // A ledger copied or restored without WAL, so that a writer's exclusive lock keeps readers out.
  const convert = new Database(path);
  convert.pragma('journal_mode = DELETE');
  convert.close();
  const store = new LedgerStore({ path, rateCard: card, pollMs: 1000, costBy: 'machine', now: () => NOW });
  await store.poll();
  assert.equal(store.view.state, 'ok');
  const other = new Database(path);
  other.exec('BEGIN EXCLUSIVE');
  const started = Date.now();
  await store.poll();
  assert.ok(Date.now() - started < 2000, 'the poll gave up quickly');
  assert.equal(store.view.state, 'locked');
  assert.match(store.view.message!, /locked by another process; retrying/);
  assert.equal(store.machines.size, 2, 'the last costs are kept');
  other.exec('ROLLBACK');
  other.close();
  await store.poll();
  assert.equal(store.view.state, 'ok');
  store.stop();
});
