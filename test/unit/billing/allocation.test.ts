import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocateLargestRemainder } from '../../../src/billing/allocation.js';

const weightsArb = fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.bigInt({ min: 0n, max: 10n ** 30n }), { minKeys: 1, maxKeys: 30 });

test('a worked split: 1.000000 over three equal lines goes 0.333334, 0.333333, 0.333333 (ties to the first key)', () => {
  const shares = allocateLargestRemainder(1_000_000n, new Map([['c', 1n], ['a', 1n], ['b', 1n]]));
  assert.deepEqual([...shares], [['a', 333_334n], ['b', 333_333n], ['c', 333_333n]]);
  // 10 units over 1:2:3.5 -> exact 1.5385, 3.0769, 5.3846: floors 1, 3, 5; the leftover unit to the largest remainder (a).
  const uneven = allocateLargestRemainder(10n, new Map([['a', 20n], ['b', 40n], ['c', 70n]]));
  assert.deepEqual([...uneven], [['a', 2n], ['b', 3n], ['c', 5n]]);
});

test('shares sum to the amount exactly and each is within one unit of its exact part', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), weightsArb, (amount, record) => {
      const weights = new Map(Object.entries(record));
      const total = [...weights.values()].reduce((a, b) => a + b, 0n);
      fc.pre(total > 0n || amount === 0n);
      const shares = allocateLargestRemainder(amount, weights);
      assert.equal([...shares.values()].reduce((a, b) => a + b, 0n), amount);
      assert.deepEqual([...shares.keys()].sort(), [...weights.keys()].sort());
      for (const [key, share] of shares) {
        if (total === 0n) {
          assert.equal(share, 0n);
          continue;
        }
        // |share - amount x w / total| < 1, in integers.
        const diff = share * total - amount * weights.get(key)!;
        assert.ok((diff < 0n ? -diff : diff) < total, `${key}: ${share} is a unit or more away from its part`);
        if (weights.get(key) === 0n) assert.equal(share, 0n, 'nothing goes to a line with no usage');
      }
    }),
  );
});

test('the split does not depend on the order the lines come in', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), weightsArb, fc.infiniteStream(fc.nat()), (amount, record, order) => {
      const entries = Object.entries(record);
      fc.pre(entries.some(([, w]) => w > 0n));
      const shuffled = [...entries];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = order.next().value % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.deepEqual([...allocateLargestRemainder(amount, new Map(entries))], [...allocateLargestRemainder(amount, new Map(shuffled))]);
    }),
  );
});

test('a credit splits like a charge; nothing over no usage is refused', () => {
  assert.deepEqual([...allocateLargestRemainder(-10n, new Map([['a', 1n], ['b', 2n]]))], [['a', -3n], ['b', -7n]]);
  assert.throws(() => allocateLargestRemainder(5n, new Map([['a', 0n]])), /all zero/);
  assert.throws(() => allocateLargestRemainder(5n, new Map([['a', -1n]])), /negative/);
  assert.deepEqual([...allocateLargestRemainder(0n, new Map([['a', 0n]]))], [['a', 0n]]);
});
