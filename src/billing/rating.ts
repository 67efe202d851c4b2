// Turning usage into money, exactly. Usage arrives in integer units (CPU busy microseconds, memory
// byte-milliseconds); tier bounds are in hours. Everything is scaled to integers before comparing,
// so a tier boundary falls on the exact unit, and the cost comes out as a fraction that is rounded
// once, half up, to micro-units by the caller.
import { MICROS, PRICE_SCALE, QUANTITY_SCALE, divRoundHalfUp } from './money.js';
import type { PriceSpec } from './rate-card.js';

/**
 * The cost of `units` of usage under `spec`, unrounded; numeratorToMicros() turns it into micro-units.
 * Summing numerators of the same resource and rounding once keeps a line exact.
 */
export function costNumerator(units: bigint, unitsPerHour: bigint, spec: PriceSpec): bigint {
  if (units <= 0n) return 0n;
  // Usage scaled so that a tier bound (hours x 10^6) times unitsPerHour is directly comparable.
  const scaled = units * QUANTITY_SCALE;
  if (spec.mode === 'volume') {
    const tier = spec.tiers.find((t) => t.upTo === null || scaled <= t.upTo * unitsPerHour) ?? spec.tiers.at(-1)!;
    return scaled * tier.price;
  }
  let total = 0n;
  let lower = 0n;
  for (const tier of spec.tiers) {
    const upper = tier.upTo === null ? scaled : tier.upTo * unitsPerHour;
    const inTier = (scaled < upper ? scaled : upper) - lower;
    if (inTier > 0n) total += inTier * tier.price;
    if (scaled <= upper) break;
    lower = upper;
  }
  return total;
}

/** Rounds a (sum of) costNumerator(s) of one resource to micro-units, half up. */
export function numeratorToMicros(numerator: bigint, unitsPerHour: bigint): bigint {
  return divRoundHalfUp(numerator * MICROS, unitsPerHour * QUANTITY_SCALE * PRICE_SCALE);
}

/** The cost of `units` under `spec` in micro-units, rounded half up. */
export function costMicros(units: bigint, unitsPerHour: bigint, spec: PriceSpec): bigint {
  return numeratorToMicros(costNumerator(units, unitsPerHour, spec), unitsPerHour);
}

/** The first tier's price: what the worker records per sample in the charges table. */
export const basePrice = (spec: PriceSpec): bigint => spec.tiers[0]!.price;

/** `units` at a flat price (scaled 10^12), in micro-units rounded half up. */
export function flatCostMicros(units: bigint, unitsPerHour: bigint, price: bigint): bigint {
  return divRoundHalfUp(units * price * MICROS, unitsPerHour * PRICE_SCALE);
}
