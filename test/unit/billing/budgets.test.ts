import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLedgerPriceVersion, budgetLevel, evaluateBudgets, parseRateCard, RateCardError } from '../../../src/billing/index.js';
import { openLedger } from '../../../src/ledger/index.js';
import { writeSamples } from '../ledger/write-samples.js';
import { makeSample, message, tempLedgerPath } from '../worker/fixtures.js';

const HOUR = 3_600_000;
const NOV = Date.UTC(2026, 10, 1);

test('levels at the thresholds: passing means strictly above', async () => {
  assert.deepEqual(budgetLevel(800n, 1000n), { level: 'ok', passed: [] });
  assert.deepEqual(budgetLevel(801n, 1000n), { level: 'warn', passed: [80] });
  assert.deepEqual(budgetLevel(1000n, 1000n), { level: 'warn', passed: [80] });
  assert.deepEqual(budgetLevel(1001n, 1000n), { level: 'over', passed: [80, 100] });
  assert.deepEqual(budgetLevel(0n, 1000n), { level: 'ok', passed: [] });
});

test('budgets in the rate card are validated with the field named', async () => {
  const card = parseRateCard({ budgets: [{ label: 'team=search', amount: 500 }, { name: 'db', machine: 'db-1', amount: '12.5' }] });
  assert.deepEqual(
    card.budgets!.map((b) => [b.name, b.scope, b.amountMicros]),
    [
      ['team=search', { label: 'team', value: 'search' }, 500_000_000n],
      ['db', { machine: 'db-1' }, 12_500_000n],
    ],
  );
  const bad = (budgets: unknown, pattern: RegExp) => assert.throws(() => parseRateCard({ budgets }, 'r.yaml'), (e: Error) => e instanceof RateCardError && pattern.test(e.message));
  bad({}, /budgets: must be a list/);
  bad([{ amount: 5 }], /budgets\[0\]: needs label/);
  bad([{ label: 'team', amount: 5 }], /budgets\[0\]\.label: "team" is not KEY=VALUE/);
  bad([{ label: 'a=b', machine: 'm', amount: 5 }], /either label or machine/);
  bad([{ label: 'a=b', amount: -1 }], /budgets\[0\]\.amount: -1 is not a positive amount/);
  bad([{ label: 'a=b', amount: 5, limit: 3 }], /budgets\[0\]\.limit: unknown field/);
  bad([{ label: 'a=b', amount: 5 }, { label: 'a=b', amount: 6 }], /budgets\[1\]\.name: "a=b" is used by an earlier budget/);
  // Budgets do not change prices, so they do not change the digest charges are recorded with.
  assert.equal(parseRateCard({ budgets: [{ label: 'a=b', amount: 1 }] }).digest, parseRateCard({}).digest);
});

test('the forecast on a known history: 10 days at 1/hour in a 30-day month is 720', async () => {
  // Team a: one core busy all the time at a price of 1 per core-hour. Team b: half that.
  const samples = Array.from({ length: 240 }, (_, i) => [
    makeSample({ machine: 'a-1', labels: { team: 'a' }, start: NOV + i * HOUR, windowMs: HOUR, cores: 2, busySeconds: 3600, usedBytes: 0 }),
    makeSample({ machine: 'b-1', labels: { team: 'b' }, start: NOV + i * HOUR, windowMs: HOUR, cores: 2, busySeconds: 1800, usedBytes: 0 }),
  ]).flat();
  const now = NOV + 240 * HOUR;
  const path = tempLedgerPath();
  const ledger = await openLedger(path);
  const card = parseRateCard({
    cpu: 1,
    budgets: [
      { label: 'team=a', amount: 900 }, // 720 is exactly 80%: ok
      { label: 'team=b', amount: 400 }, // 360 is 90%: warn
      { machine: 'a-1', amount: 700 }, // 720 > 700: over
      { label: 'team=nobody', amount: 10 }, // no usage at all
    ],
  });
  await addLedgerPriceVersion(ledger, card, NOV);
  await writeSamples(ledger, samples, { now });
  const statuses = await evaluateBudgets(ledger, { budgets: card.budgets!, now });
  await ledger.close();
  assert.deepEqual(
    statuses.map((s) => [s.name, s.actual, s.forecast, s.forecastPercent, s.level]),
    [
      ['team=a', '240.000000', '720.000000', 80, 'ok'],
      ['team=b', '120.000000', '360.000000', 90, 'warn'],
      ['machine=a-1', '240.000000', '720.000000', 102.85, 'over'],
      ['team=nobody', '0.000000', '0.000000', 0, 'ok'],
    ],
  );
  assert.equal(statuses[0]!.period, '2026-11');
});
