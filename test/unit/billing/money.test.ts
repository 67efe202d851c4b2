import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  busyMicros,
  divRoundHalfUp,
  formatMicros,
  formatScaled,
  formatUsageHours,
  memByteMs,
  memoryUsage,
  parseDecimal,
  CPU_UNITS_PER_CORE_HOUR,
  sumBigInt,
  toBigInt,
} from '../../../src/billing/money.js';

test('divRoundHalfUp rounds halves away from zero and everything else to nearest', () => {
  assert.equal(divRoundHalfUp(5n, 10n), 1n);
  assert.equal(divRoundHalfUp(4n, 10n), 0n);
  assert.equal(divRoundHalfUp(15n, 10n), 2n);
  assert.equal(divRoundHalfUp(14n, 10n), 1n);
  assert.equal(divRoundHalfUp(0n, 7n), 0n);
  assert.equal(divRoundHalfUp(-15n, 10n), -2n);
});

test('parseDecimal is exact and refuses what it cannot represent', () => {
  assert.equal(parseDecimal('0.031611', 12), 31_611_000_000n);
  assert.equal(parseDecimal(0.004237, 12), 4_237_000_000n);
  assert.equal(parseDecimal('12', 6), 12_000_000n);
  assert.equal(parseDecimal(' 1.5 ', 6), 1_500_000n);
  assert.equal(parseDecimal('-2.25', 6), -2_250_000n);
  assert.equal(parseDecimal('0.1234567', 6), undefined, 'too many places');
  assert.equal(parseDecimal('1e-3', 6), undefined);
  assert.equal(parseDecimal(1e-7, 12), undefined, 'exponent notation from a float');
  assert.equal(parseDecimal('abc', 6), undefined);
  assert.equal(parseDecimal(null, 6), undefined);
  assert.equal(parseDecimal(Number.NaN, 6), undefined);
});

test('formatting keeps every digit', () => {
  assert.equal(formatMicros(12_345_678n), '12.345678');
  assert.equal(formatMicros(5n), '0.000005');
  assert.equal(formatMicros(0n), '0.000000');
  assert.equal(formatMicros(-1_500_000n), '-1.500000');
  assert.equal(formatScaled(123n, 0), '123');
  // 1.5 core-hours exactly; 1/3 core-hour rounds half up at 6 places.
  assert.equal(formatUsageHours(5_400_000_000n, CPU_UNITS_PER_CORE_HOUR), '1.500000');
  assert.equal(formatUsageHours(1_200_000_000n, CPU_UNITS_PER_CORE_HOUR), '0.333333');
  assert.equal(formatUsageHours(2_400_000_000n, CPU_UNITS_PER_CORE_HOUR), '0.666667');
});

test('memoryUsage splits byte-milliseconds exactly, even beyond 2^53 and 2^63', () => {
  const check = (used: number, window: number) => {
    const { gibMs, remByteMs } = memoryUsage(used, window);
    assert.ok(remByteMs >= 0 && remByteMs < 2 ** 30);
    assert.equal(memByteMs(BigInt(gibMs), BigInt(remByteMs)), BigInt(used) * BigInt(window));
  };
  check(12_884_901_888, 5000);
  check(123_456_789, 4999);
  check(0, 5000);
  check(64 * 2 ** 40, 7 * 24 * 3600 * 1000); // 64 TiB for a week: 4.2e22 byte-ms
  check(2 ** 53 - 1, 3);
});

test('busyMicros rounds seconds to whole microseconds', () => {
  assert.equal(busyMicros(12.5), 12_500_000);
  assert.equal(busyMicros(0.0000015), 2);
  assert.equal(busyMicros(0), 0);
});

test('integers from database drivers become BigInts exactly, or are refused', () => {
  assert.equal(toBigInt(12, 'cpu'), 12n);
  assert.equal(toBigInt(12n, 'cpu'), 12n);
  assert.equal(toBigInt('123456789012345678901234567890', 'pg int8'), 123456789012345678901234567890n, "pg's int8 and numeric come as strings");
  assert.equal(toBigInt('-5', 'x'), -5n);
  assert.throws(() => toBigInt(2 ** 53 + 2, 'cpu_busy_us'), /^RangeError: cpu_busy_us: 9007199254740994 \(beyond 2\^53, digits lost\) is not an exact integer$/);
  assert.throws(() => toBigInt(1.5, 'x'), /x: 1\.5 is not an exact integer/);
  assert.throws(() => toBigInt('1e3', 'x'), /"1e3" is not an exact integer/);
  assert.throws(() => toBigInt(null, 'x'), /null is not an exact integer/);
  assert.equal(sumBigInt([2n ** 60n, 2n ** 60n, 1n]), 2n ** 61n + 1n, 'sums past 2^53 stay exact');
  assert.equal(sumBigInt([]), 0n);
});
