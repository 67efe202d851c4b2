import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../../src/cli/errors.js';
import {
  PriceBook,
  PriceVersionError,
  createPriceVersion,
  firstPricedHour,
  priceVersionDocument,
  readPriceVersion,
} from '../../../src/billing/price-versions.js';
import { rateCardDocument } from '../../../src/billing/rate-card-document.js';
import { parseRateCard } from '../../../src/billing/rate-card.js';
import { HOUR, card } from './pricing-fixtures.js';

const t0 = Date.UTC(2026, 10, 1);
const cheap = card({ cpu: 0.01 });
const dear = card({ cpu: 0.02 });

test('each hour is priced by the version in force at its start; a version first prices the next whole hour', () => {
  const prices = PriceBook.empty.add(cheap, t0).add(dear, t0 + 10 * HOUR + 30 * 60_000);
  assert.equal(prices.versionAt(t0 + 10 * HOUR + 59 * 60_000)?.card.digest, cheap.digest, 'the hour 10:00 started under the old prices');
  assert.equal(prices.versionAt(t0 + 11 * HOUR)?.card.digest, dear.digest);
  assert.equal(prices.versionAt(t0 + 11 * HOUR + 1)?.card.digest, dear.digest, 'a raw part of an hour goes by its hour');
  assert.equal(prices.versionAt(t0 - 5 * HOUR)?.card.digest, cheap.digest, 'before the first version: the first version');
  assert.equal(firstPricedHour(prices.versions[1]!), t0 + 11 * HOUR);
  assert.equal(PriceBook.empty.versionAt(t0), undefined);
});

test('versions are immutable: the card is copied and frozen, and adding gives a new book', () => {
  const source = card({ cpu: { tiers: [{ upTo: 10, price: 1 }, { price: 0.5 }] } });
  const version = createPriceVersion(source, t0);
  assert.ok(Object.isFrozen(version) && Object.isFrozen(version.card) && Object.isFrozen(version.card.cpu.tiers[0]));
  assert.throws(() => {
    (version.card.cpu.tiers[0] as { price: bigint }).price = 0n;
  }, TypeError);
  source.cpu.tiers[0]!.price = 0n;
  assert.equal(version.card.cpu.tiers[0]!.price, 1_000_000_000_000n, 'editing the source card does not reach the version');
  const one = PriceBook.empty.add(cheap, t0);
  const two = one.add(dear, t0 + HOUR);
  assert.equal(one.versions.length, 1);
  assert.equal(two.versions.length, 2);
});

test('a version is named by its effective time and prices together', () => {
  const a = createPriceVersion(cheap, t0);
  assert.equal(a.digest, createPriceVersion(card({ cpu: '0.010' }), t0).digest, 'same prices, same time: same version');
  assert.notEqual(a.digest, createPriceVersion(cheap, t0 + HOUR).digest);
  assert.notEqual(a.digest, createPriceVersion(dear, t0).digest);
  assert.match(a.digest, /^[0-9a-f]{64}$/);
});

test('two versions cannot take effect in the same hour, nor before a closed period', () => {
  const prices = PriceBook.empty.add(cheap, t0);
  assert.throws(() => prices.add(dear, t0), (error: unknown) => {
    assert.ok(error instanceof PriceVersionError && error instanceof UsageError);
    assert.match(error.message, /^--effective 2026-11-01T00:00:00\.000Z: version [0-9a-f]{12} \(effective 2026-11-01T00:00:00\.000Z\) already takes effect at 2026-11-01T00:00:00\.000Z; versions are never edited/);
    return true;
  });
  assert.throws(() => prices.add(dear, t0 - 30 * 60_000), /already takes effect/, '23:30 the day before also first prices 00:00');
  assert.throws(() => prices.add(dear, t0 + 5 * HOUR, { notBefore: t0 + 24 * HOUR }), /before 2026-11-02T00:00:00\.000Z, the end of the last closed period/);
  assert.throws(() => createPriceVersion(cheap, Number.NaN), RangeError);
});

test('a stored version reads back to the same prices and digest, and an altered one is caught', () => {
  fc.assert(
    fc.property(
      fc.record({
        cpu: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 10 ** 6 }).map((n) => (n / 1e6).toFixed(6))),
        account: fc.constantFrom(undefined, 'fleet', 'team', 'label:env'),
        currency: fc.constantFrom(undefined, 'EUR', 'usd'),
        tiers: fc.uniqueArray(fc.integer({ min: 1, max: 10 ** 7 }), { minLength: 0, maxLength: 4 }),
        volume: fc.boolean(),
        plan: fc.boolean(),
      }),
      fc.integer({ min: 0, max: 2 ** 40 }),
      ({ cpu, account, currency, tiers, volume, plan }, at) => {
        const bounds = [...tiers].sort((a, b) => a - b);
        const document: Record<string, unknown> = { cpu, account, currency };
        if (bounds.length > 0) {
          document.memory = {
            mode: volume ? 'volume' : 'graduated',
            tiers: [...bounds.map((b, i) => ({ upTo: b / 1000, price: `0.00${i + 1}` })), { price: '0.0001' }],
          };
        }
        if (plan) document.plans = [{ name: 'ci', match: { machines: ['ci-*'], labels: { env: 'ci' } }, cpu: '0.5' }];
        for (const k of Object.keys(document)) if (document[k] === undefined) delete document[k];
        const version = createPriceVersion(parseRateCard(document), at);
        const stored = JSON.parse(JSON.stringify(priceVersionDocument(version)));
        const read = readPriceVersion(stored);
        assert.equal(read.digest, version.digest);
        assert.equal(read.card.digest, version.card.digest);
        assert.deepEqual(rateCardDocument(read.card), rateCardDocument(version.card));
      },
    ),
  );
  const stored = priceVersionDocument(createPriceVersion(cheap, t0));
  assert.throws(() => readPriceVersion({ ...stored, card: { ...stored.card, cpu: { mode: 'graduated', tiers: [{ price: '0.001' }] } } }), /stored digest [0-9a-f]{12} does not match its prices/);
  assert.throws(() => readPriceVersion({ ...stored, effectiveFrom: '2026-02-31T00:00:00.000Z' }), /effectiveFrom is not an ISO UTC instant/);
});

test('the worker registers its card only when it differs from the version in force', () => {
  const prices = PriceBook.empty.add(cheap, t0);
  assert.equal(prices.differsFromVersionAt(card({ cpu: '0.0100' }), t0 + HOUR), false);
  assert.equal(prices.differsFromVersionAt(dear, t0 + HOUR), true);
  assert.equal(PriceBook.empty.differsFromVersionAt(cheap, t0), true);
  assert.equal(PriceBook.of([createPriceVersion(dear, t0 + HOUR), createPriceVersion(cheap, t0)]).versions[0]!.card.digest, cheap.digest);
});
