import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatMicros, CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, MICROS, PRICE_SCALE, QUANTITY_SCALE } from '../../../src/billing/money.js';
import { PriceBook } from '../../../src/billing/price-versions.js';
import { hourlyCosts, pricePeriod, pricingSpans, PricingError, type UsageItem } from '../../../src/billing/pooled-tiers.js';
import { allocateRange, type LineGrouping } from '../../../src/billing/range-allocation.js';
import { accountOf, planFor, type RateCard } from '../../../src/billing/rate-card.js';
import { costMicros, costNumerator } from '../../../src/billing/rating.js';
import { FEB_2026, HOUR, book, card, usage } from './pricing-fixtures.js';

const DAY = 24 * HOUR;
const tiered = (mode: 'graduated' | 'volume', lower: number | string, upper: number | string) =>
  card({ cpu: { mode, tiers: [{ upTo: 100, price: lower }, { price: upper }] }, memory: 0 });
const invoice = (items: UsageItem[], prices: PriceBook, by: LineGrouping, range: { from: number; to: number } = FEB_2026) =>
  allocateRange([pricePeriod(FEB_2026, items, prices)], range, by);
const amounts = (result: ReturnType<typeof allocateRange>) =>
  Object.fromEntries([...result.lines.map((l) => [l.key, formatMicros(l.totalMicros)]), ['total', formatMicros(result.totalMicros)]]);

test("issue 11's example: 100 core-hours at 1 then 0.5 is 150 for 200 core-hours, by machine and by team alike", () => {
  const prices = book([tiered('graduated', 1, 0.5), FEB_2026.from]);
  const items = [
    usage(FEB_2026.from, 'web-1', { team: 'search' }, 100),
    usage(FEB_2026.from + DAY, 'web-2', { team: 'search' }, 60),
    usage(FEB_2026.from + DAY, 'db-1', { team: 'ads' }, 40),
  ];
  assert.deepEqual(amounts(invoice(items, prices, 'machine')), { 'db-1': '30.000000', 'web-1': '75.000000', 'web-2': '45.000000', total: '150.000000' });
  assert.deepEqual(amounts(invoice(items, prices, { label: 'team' })), { ads: '30.000000', search: '120.000000', total: '150.000000' });
  // Volume: 200 core-hours are past the first tier, so all of them are at 0.5.
  const volume = book([tiered('volume', 1, 0.5), FEB_2026.from]);
  assert.deepEqual(amounts(invoice(items, volume, { label: 'team' })), { ads: '20.000000', search: '80.000000', total: '100.000000' });
});

test('account: team prices each team on its own tiers', () => {
  const prices = book([card({ account: 'team', cpu: { tiers: [{ upTo: 100, price: 1 }, { price: 0.5 }] }, memory: 0 }), FEB_2026.from]);
  const items = [
    usage(FEB_2026.from, 'a-1', { team: 'search' }, 150),
    usage(FEB_2026.from, 'b-1', { team: 'ads' }, 50),
    usage(FEB_2026.from, 'c-1', {}, 10),
  ];
  const result = invoice(items, prices, 'machine');
  // search: 100 + 50 x 0.5 = 125; ads: 50; no team: 10 (an account of its own).
  assert.deepEqual(amounts(result), { 'a-1': '125.000000', 'b-1': '50.000000', 'c-1': '10.000000', total: '185.000000' });
  assert.deepEqual(
    result.accounts.map((a) => [a.account, formatMicros(a.totalMicros)]),
    [['team=(none)', '10.000000'], ['team=ads', '50.000000'], ['team=search', '125.000000']],
  );
});

test('a range inside the period gets its share of the period price, never restarted tiers', () => {
  const prices = book([tiered('graduated', 1, 0.5), FEB_2026.from]);
  // 1 core-hour every hour of February 2026: 672 core-hours, 100 at 1 + 572 at 0.5 = 386.
  const items = Array.from({ length: 28 * 24 }, (_, h) => usage(FEB_2026.from + h * HOUR, 'web-1', {}, 1));
  assert.equal(formatMicros(invoice(items, prices, 'machine').totalMicros), '386.000000');
  const firstWeek = invoice(items, prices, 'machine', { from: FEB_2026.from, to: FEB_2026.from + 7 * DAY });
  // A quarter of the usage: a quarter of 386, not 100 + 68 x 0.5 = 134 as restarted tiers would give.
  assert.equal(formatMicros(firstWeek.totalMicros), '96.500000');
  // Thirds of a 386 do not divide evenly; the running total rounds, so the three ranges add up exactly.
  const cuts = [FEB_2026.from, FEB_2026.from + 224 * HOUR, FEB_2026.from + 448 * HOUR, FEB_2026.to];
  const parts = cuts.slice(1).map((to, i) => invoice(items, prices, 'machine', { from: cuts[i]!, to }).totalMicros);
  assert.deepEqual(parts.map(formatMicros), ['128.666667', '128.666666', '128.666667']);
  assert.equal(parts.reduce((a, b) => a + b), 386_000_000n);
});

test('a price change mid-period: each hour is priced with its version, and lines name the versions they used', () => {
  const change = FEB_2026.from + 14 * DAY;
  const prices = book([card({ cpu: 1, memory: 0.5 }), FEB_2026.from], [card({ cpu: 2, memory: 0.5 }), change]);
  const items = [
    usage(FEB_2026.from + 2 * HOUR, 'web-1', {}, 10, 4),
    usage(change + 2 * HOUR, 'web-1', {}, 10),
    usage(change - HOUR, 'web-2', {}, 5),
  ];
  const result = invoice(items, prices, 'machine');
  assert.deepEqual(amounts(result), { 'web-1': '32.000000', 'web-2': '5.000000', total: '37.000000' });
  const [v1, v2] = prices.versions.map((v) => v.digest);
  assert.deepEqual(result.lines.map((l) => [l.key, l.versions.map((v) => v.digest)]), [['web-1', [v1, v2]], ['web-2', [v1]]]);
  assert.equal(result.lines[0]!.versions[1]!.effectiveFrom, '2026-02-15T00:00:00.000Z');
  const before = invoice(items, prices, 'machine', { from: FEB_2026.from, to: change });
  assert.deepEqual(before.versions.map((v) => v.digest), [v1]);
});

test('tiers continue across a price change: each version at its average price for the period total', () => {
  // 200 core-hours, half under each version. v1: 100 x 1 + 100 x 0.5 = 150 for 200, average 0.75.
  // v2: 100 x 2 + 100 x 1 = 300 for 200, average 1.5. So 100 x 0.75 + 100 x 1.5 = 225.
  const change = FEB_2026.from + 14 * DAY;
  const prices = book([tiered('graduated', 1, 0.5), FEB_2026.from], [tiered('graduated', 2, 1), change]);
  const items = [usage(FEB_2026.from, 'web-1', {}, 100), usage(change, 'web-2', {}, 100)];
  assert.deepEqual(amounts(invoice(items, prices, 'machine')), { 'web-1': '75.000000', 'web-2': '150.000000', total: '225.000000' });
});

test('a period in two currencies is refused with what to do', () => {
  const prices = book([card({ currency: 'USD' }), FEB_2026.from], [card({ currency: 'EUR' }), FEB_2026.from + DAY]);
  const items = [usage(FEB_2026.from, 'a', {}, 1), usage(FEB_2026.from + 2 * DAY, 'a', {}, 1)];
  assert.throws(() => pricePeriod(FEB_2026, items, prices), (error: unknown) => {
    assert.ok(error instanceof PricingError);
    assert.match(error.message, /^prices change currency within 2026-02 \(USD in version [0-9a-f]{12}, EUR in [0-9a-f]{12}\); a period is billed in one currency/);
    return true;
  });
  assert.throws(() => pricePeriod(FEB_2026, [usage(FEB_2026.to, 'a', {}, 1)], prices), /outside the period/);
  assert.throws(() => pricePeriod(FEB_2026, [usage(FEB_2026.from, 'a', {}, 1)], PriceBook.empty), /no price version in the ledger/);
});

test('a line spread over several pools is within 0.000001 of its exact share, not one unit per pool', () => {
  // Two pools (the dev plan and the card's own price, both 1 per core-hour), each costing 0.000002,
  // each shared equally by teams x, y and z: every team's exact share is 0.000001333...
  // Splitting pool by pool would give x 2, y 2, z 0 micro-units (z off by 1.33); one split of the
  // sum gives x 2, y 1, z 1.
  const prices = book([card({ cpu: 1, memory: 0, plans: [{ name: 'dev', match: { labels: { env: 'dev' } }, cpu: 1 }] }), FEB_2026.from]);
  const items = ['x', 'y', 'z'].flatMap((team) =>
    ['prod', 'dev'].map((env): UsageItem => ({ at: FEB_2026.from, machine: `${team}-${env}`, labels: { team, env }, cpuBusyUs: 2400n, memByteMs: 0n })),
  );
  const result = invoice(items, prices, { label: 'team' });
  assert.deepEqual(result.lines.map((l) => [l.key, l.cpuMicros]), [['x', 2n], ['y', 1n], ['z', 1n]]);
});

// ---- properties over random fleets, cards and price changes ----

const priceArb = fc.integer({ min: 0, max: 5_000_000 }).map((n) => (n / 1e6).toFixed(6));
const specArb = fc.oneof(
  priceArb,
  fc.record({
    mode: fc.constantFrom('graduated', 'volume'),
    bounds: fc.uniqueArray(fc.integer({ min: 1, max: 500_000 }), { minLength: 1, maxLength: 3 }),
    prices: fc.array(priceArb, { minLength: 4, maxLength: 4 }),
  }).map(({ mode, bounds, prices }) => ({
    mode,
    tiers: [...[...bounds].sort((a, b) => a - b).map((b, i) => ({ upTo: b / 1000, price: prices[i] })), { price: prices[3] }],
  })),
);
const cardArb = fc
  .record({ account: fc.constantFrom('fleet', 'team'), cpu: specArb, memory: specArb, plan: fc.option(specArb) })
  .map(({ account, cpu, memory, plan }) =>
    card({ account, cpu, memory, plans: plan === null ? [] : [{ name: 'dev', match: { labels: { env: 'dev' } }, cpu: plan }] }),
  );
const PERIOD_HOURS = 28 * 24;
const itemArb = fc
  .record({
    hour: fc.integer({ min: 0, max: PERIOD_HOURS - 1 }),
    minute: fc.constantFrom(0, 0, 17),
    machine: fc.constantFrom('m1', 'm2', 'm3', 'm4', 'm5'),
    team: fc.constantFrom('search', 'ads', undefined),
    env: fc.constantFrom('prod', 'dev'),
    cpu: fc.bigInt({ min: 0n, max: 64n * CPU_UNITS_PER_CORE_HOUR }),
    mem: fc.bigInt({ min: 0n, max: 512n * MEM_UNITS_PER_GIB_HOUR }),
  })
  .map(({ hour, minute, machine, team, env, cpu, mem }): UsageItem => ({
    at: FEB_2026.from + hour * HOUR + minute * 60_000,
    machine,
    labels: team === undefined ? { env } : { team, env },
    cpuBusyUs: cpu,
    memByteMs: mem,
  }));
const bookArb = fc
  .array(fc.record({ card: cardArb, hour: fc.integer({ min: 0, max: PERIOD_HOURS - 1 }) }), { minLength: 1, maxLength: 3 })
  .map((versions) => {
    let prices = PriceBook.empty;
    const hours = new Set<number>();
    for (const [i, v] of versions.entries()) {
      const hour = i === 0 ? 0 : v.hour;
      if (hours.has(hour)) continue;
      hours.add(hour);
      prices = prices.add(v.card, FEB_2026.from + hour * HOUR);
    }
    return prices;
  });
const groupings: LineGrouping[] = ['machine', { label: 'team' }, { label: 'env' }];

test('totals are equal across groupings, lines and accounts add up, and split ranges add up to the period', () => {
  fc.assert(
    fc.property(bookArb, fc.array(itemArb, { maxLength: 40 }), fc.integer({ min: 1, max: PERIOD_HOURS - 1 }), fc.integer({ min: 1, max: PERIOD_HOURS - 1 }), (prices, items, c1, c2) => {
      const priced = [pricePeriod(FEB_2026, items, prices)];
      const whole = groupings.map((by) => allocateRange(priced, FEB_2026, by));
      for (const result of whole) {
        assert.equal(result.totalMicros, whole[0]!.totalMicros, 'same total whatever the grouping');
        assert.equal(result.lines.reduce((s, l) => s + l.totalMicros, 0n), result.totalMicros);
        assert.equal(result.accounts.reduce((s, a) => s + a.totalMicros, 0n), result.totalMicros);
        assert.equal(result.cpuMicros + result.memMicros, result.totalMicros);
      }
      const total = priced[0]!.pools.reduce((s, p) => s + p.totalMicros, 0n);
      assert.equal(whole[0]!.totalMicros, total, 'the period total is the sum of its pools');
      const cuts = [...new Set([FEB_2026.from, FEB_2026.from + Math.min(c1, c2) * HOUR, FEB_2026.from + Math.max(c1, c2) * HOUR, FEB_2026.to])];
      for (const by of groupings) {
        let sum = 0n;
        for (let i = 1; i < cuts.length; i++) sum += allocateRange(priced, { from: cuts[i - 1]!, to: cuts[i]! }, by).totalMicros;
        assert.equal(sum, total, 'ranges that split the period add up to it to the micro-unit');
      }
    }),
    { numRuns: 150 },
  );
});

test('the allocation is deterministic: the same usage in any order gives the same invoice', () => {
  fc.assert(
    fc.property(bookArb, fc.array(itemArb, { maxLength: 30 }).chain((items) => fc.tuple(fc.constant(items), fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }))), (prices, [items, shuffled]) => {
      for (const by of groupings) {
        assert.deepEqual(invoice(shuffled, prices, by), invoice(items, prices, by));
      }
    }),
    { numRuns: 100 },
  );
});

/**
 * The exact share of each line, computed independently for a single price version: each pool (account,
 * plan, resource) costs costMicros(U) through the card's tiers, shared in proportion to usage. As a
 * fraction num/den per line.
 */
function exactShares(items: UsageItem[], c: RateCard, by: LineGrouping, resource: 'cpu' | 'memory') {
  const perHour = resource === 'cpu' ? CPU_UNITS_PER_CORE_HOUR : MEM_UNITS_PER_GIB_HOUR;
  const pools = new Map<string, { spec: RateCard['cpu']; total: bigint; byLine: Map<string, bigint> }>();
  for (const item of items) {
    const plan = planFor(c, item.machine, item.labels);
    const key = `${accountOf(c, item.labels)}/${plan?.name ?? ''}`;
    const units = resource === 'cpu' ? item.cpuBusyUs : item.memByteMs;
    let pool = pools.get(key);
    if (!pool) pools.set(key, (pool = { spec: (plan ?? c)[resource], total: 0n, byLine: new Map() }));
    pool.total += units;
    const line = by === 'machine' ? item.machine : (item.labels[by.label] ?? '(none)');
    pool.byLine.set(line, (pool.byLine.get(line) ?? 0n) + units);
  }
  const shares = new Map<string, { num: bigint; den: bigint }>();
  for (const pool of pools.values()) {
    if (pool.total === 0n) continue;
    const amount = costMicros(pool.total, perHour, pool.spec);
    for (const [line, units] of pool.byLine) {
      const prev = shares.get(line) ?? { num: 0n, den: 1n };
      // prev + amount x units / total
      shares.set(line, { num: prev.num * pool.total + amount * units * prev.den, den: prev.den * pool.total });
    }
  }
  return shares;
}

test('with one price version each line is within 0.000001 of its exact share of its pools', () => {
  fc.assert(
    fc.property(cardArb, fc.array(itemArb, { minLength: 1, maxLength: 40 }), fc.constantFrom(...groupings), (c, items, by) => {
      const result = invoice(items, book([c, FEB_2026.from]), by);
      for (const resource of ['cpu', 'memory'] as const) {
        const shares = exactShares(items, c, by, resource);
        for (const line of result.lines) {
          const { num, den } = shares.get(line.key) ?? { num: 0n, den: 1n };
          const got = resource === 'cpu' ? line.cpuMicros : line.memMicros;
          const diff = got * den - num;
          assert.ok((diff < 0n ? -diff : diff) < den, `${line.key} ${resource}: ${got} is 0.000001 or more from ${num}/${den}`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('a range is within 0.000001 per pool of its exact share of the period price', () => {
  fc.assert(
    fc.property(cardArb, fc.array(itemArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: PERIOD_HOURS - 1 }), (c, items, cut) => {
      const range = { from: FEB_2026.from + cut * HOUR, to: FEB_2026.to };
      const priced = pricePeriod(FEB_2026, items, book([c, FEB_2026.from]));
      const result = allocateRange([priced], range, 'machine');
      // Exact: sum over pools of C(U) x (usage in range) / U, as a fraction over a common denominator.
      let num = 0n;
      let den = 1n;
      for (const resource of ['cpu', 'memory'] as const) {
        const perHour = resource === 'cpu' ? CPU_UNITS_PER_CORE_HOUR : MEM_UNITS_PER_GIB_HOUR;
        const pools = new Map<string, { spec: RateCard['cpu']; total: bigint; inRange: bigint }>();
        for (const item of items) {
          const plan = planFor(c, item.machine, item.labels);
          const key = `${accountOf(c, item.labels)}/${plan?.name ?? ''}`;
          const units = resource === 'cpu' ? item.cpuBusyUs : item.memByteMs;
          let pool = pools.get(key);
          if (!pool) pools.set(key, (pool = { spec: (plan ?? c)[resource], total: 0n, inRange: 0n }));
          pool.total += units;
          if (item.at >= range.from) pool.inRange += units;
        }
        for (const pool of pools.values()) {
          if (pool.total === 0n) continue;
          const poolDen = pool.total * perHour * QUANTITY_SCALE * PRICE_SCALE;
          const poolNum = costNumerator(pool.total, perHour, pool.spec) * pool.inRange * MICROS;
          [num, den] = [num * poolDen + poolNum * den, den * poolDen];
        }
      }
      const diff = result.totalMicros * den - num;
      const bound = BigInt(priced.pools.length) * den;
      assert.ok((diff < 0n ? -diff : diff) < bound);
    }),
    { numRuns: 150 },
  );
});

test('usage summed over pricing spans prices exactly as hour by hour', () => {
  fc.assert(
    fc.property(bookArb, fc.array(itemArb, { maxLength: 40 }), fc.integer({ min: 1, max: PERIOD_HOURS - 1 }), fc.constantFrom(...groupings), (prices, items, cut, by) => {
      const range = { from: FEB_2026.from + cut * HOUR, to: FEB_2026.to };
      const spans = pricingSpans(FEB_2026, prices, [range.from, range.to]);
      assert.equal(spans[0]!.from, FEB_2026.from);
      assert.equal(spans.at(-1)!.to, FEB_2026.to);
      // One item per span, machine and label set, as a ledger would answer from its rollups.
      const summed = new Map<string, UsageItem>();
      for (const item of items) {
        const span = spans.find((s) => item.at >= s.from && item.at < s.to)!;
        const key = `${span.from}/${item.machine}/${JSON.stringify(item.labels)}`;
        const prev = summed.get(key);
        summed.set(key, { ...item, at: span.from, cpuBusyUs: (prev?.cpuBusyUs ?? 0n) + item.cpuBusyUs, memByteMs: (prev?.memByteMs ?? 0n) + item.memByteMs });
      }
      const coarse = invoice([...summed.values()], prices, by, range);
      const fine = invoice(items, prices, by, range);
      assert.deepEqual(coarse.lines.map((l) => [l.key, l.cpuMicros, l.memMicros, l.versions]), fine.lines.map((l) => [l.key, l.cpuMicros, l.memMicros, l.versions]));
      assert.equal(coarse.totalMicros, fine.totalMicros);
    }),
    { numRuns: 100 },
  );
});

test('hourly costs for forecasting add up to the exact period cost', () => {
  const prices = book([tiered('graduated', 1, 0.5), FEB_2026.from]);
  const items = [usage(FEB_2026.from, 'a', { team: 'x' }, 150), usage(FEB_2026.from + 30 * 60_000, 'b', { team: 'y' }, 50), usage(FEB_2026.from + HOUR, 'a', { team: 'x' }, 100)];
  const priced = pricePeriod(FEB_2026, items, prices);
  // 300 core-hours: 100 + 200 x 0.5 = 200, an average of 2/3 per core-hour.
  const hours = hourlyCosts([priced]);
  assert.deepEqual([...hours.keys()], [FEB_2026.from, FEB_2026.from + HOUR]);
  assert.ok(Math.abs(hours.get(FEB_2026.from)! - 200e6 * (200 / 300)) < 1);
  assert.ok(Math.abs(hours.get(FEB_2026.from + HOUR)! - 200e6 * (100 / 300)) < 1);
  const teamY = hourlyCosts([priced], (item) => item.labels.team === 'y');
  assert.ok(Math.abs(teamY.get(FEB_2026.from)! - 200e6 * (50 / 300)) < 1);
});
