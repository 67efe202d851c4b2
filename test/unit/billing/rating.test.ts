import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CPU_UNITS_PER_CORE_HOUR as CPU, MEM_UNITS_PER_GIB_HOUR as MEM } from '../../../src/billing/money.js';
import { costMicros, costNumerator, numeratorToMicros } from '../../../src/billing/rating.js';
import { parseRateCard } from '../../../src/billing/rate-card.js';

const coreHours = (h: number) => BigInt(Math.round(h * 1e6)) * (CPU / 1_000_000n);

const graduated = parseRateCard({
  cpu: { tiers: [{ upTo: 100, price: 1 }, { upTo: 200, price: 0.5 }, { price: 0.25 }] },
}).cpu;
const volume = parseRateCard({
  cpu: { mode: 'volume', tiers: [{ upTo: 100, price: 1 }, { upTo: 200, price: 0.5 }, { price: 0.25 }] },
}).cpu;

test('a flat price is usage x price, rounded half up to micro-units', () => {
  const flat = parseRateCard({}).cpu;
  assert.equal(costMicros(CPU, CPU, flat), 31_611n);
  // 1 us of CPU costs 0.031611 / 3.6e9: far below a micro-unit.
  assert.equal(costMicros(1n, CPU, flat), 0n);
  // 0.5 core-hours = 15805.5 micros -> rounds up.
  assert.equal(costMicros(CPU / 2n, CPU, flat), 15_806n);
  assert.equal(costMicros(0n, CPU, flat), 0n);
});

test('graduated tiers price each slice of usage at its own tier, across boundaries', () => {
  assert.equal(costMicros(coreHours(50), CPU, graduated), 50_000_000n);
  assert.equal(costMicros(coreHours(100), CPU, graduated), 100_000_000n, 'upTo is inclusive');
  assert.equal(costMicros(coreHours(150), CPU, graduated), 125_000_000n);
  assert.equal(costMicros(coreHours(200), CPU, graduated), 150_000_000n);
  assert.equal(costMicros(coreHours(300), CPU, graduated), 175_000_000n);
  // One microsecond past the boundary is priced at the next tier: 100 + 0.5/3.6e9.
  assert.equal(costNumerator(coreHours(100) + 1n, CPU, graduated) - costNumerator(coreHours(100), CPU, graduated),
    costNumerator(1n, CPU, parseRateCard({ cpu: 0.5 }).cpu));
});

test('volume tiers price all usage at the tier the total falls in', () => {
  assert.equal(costMicros(coreHours(50), CPU, volume), 50_000_000n);
  assert.equal(costMicros(coreHours(100), CPU, volume), 100_000_000n, 'exactly on the bound stays in the tier');
  assert.equal(costMicros(coreHours(100) + 1n, CPU, volume), 50_000_000n, 'one microsecond over drops the whole price');
  assert.equal(costMicros(coreHours(150), CPU, volume), 75_000_000n);
  assert.equal(costMicros(coreHours(300), CPU, volume), 75_000_000n);
});

test('memory tiers with fractional GiB-hour bounds are exact', () => {
  const card = parseRateCard({ memory: { tiers: [{ upTo: '0.5', price: 2 }, { price: 1 }] } });
  const gibHour = MEM;
  assert.equal(costMicros(gibHour / 2n, MEM, card.memory), 1_000_000n);
  assert.equal(costMicros(gibHour, MEM, card.memory), 1_500_000n);
  assert.equal(costMicros(gibHour * 3n, MEM, card.memory), 3_500_000n);
});

test('numerators of one resource add up before the single rounding', () => {
  const flat = parseRateCard({ cpu: '0.000001' }).cpu; // a micro-unit per core-hour
  const third = CPU / 3n;
  const separately = costMicros(third, CPU, flat) * 3n;
  const together = numeratorToMicros(costNumerator(third, CPU, flat) * 3n, CPU);
  assert.equal(separately, 0n);
  assert.equal(together, 1n);
});
