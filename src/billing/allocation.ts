// Largest-remainder allocation (Hamilton's method) of an exact integer amount, in BigInt.
//
// Each share starts at the floor of its exact proportional part; the units left over (fewer than the
// number of shares) go one each to the shares with the largest remainders, ties to the earliest key
// in code-unit order. So the shares always sum to the amount, each is within one unit of its exact
// part, and the same inputs always give the same shares whatever order they come in.
// (hare-niemeyer on npm does the same with floats and insertion-order ties, which cannot promise
// either exactness or determinism for money.)

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Splits `amount` (an integer, e.g. micro-units) over `weights` (integers >= 0) in proportion to them.
 * A negative amount (a credit) is split like its absolute value, then negated. A non-zero amount over
 * weights that are all zero has no proportion to follow and is refused.
 */
export function allocateLargestRemainder(amount: bigint, weights: ReadonlyMap<string, bigint>): Map<string, bigint> {
  if (amount < 0n) {
    const positive = allocateLargestRemainder(-amount, weights);
    for (const [key, share] of positive) positive.set(key, -share);
    return positive;
  }
  let total = 0n;
  for (const [key, weight] of weights) {
    if (weight < 0n) throw new RangeError(`allocation weight of ${JSON.stringify(key)} is negative`);
    total += weight;
  }
  const keys = [...weights.keys()].sort(byKey);
  const shares = new Map<string, bigint>();
  if (total === 0n) {
    if (amount !== 0n) throw new RangeError(`cannot allocate ${amount} over weights that are all zero`);
    for (const key of keys) shares.set(key, 0n);
    return shares;
  }
  const remainders: { key: string; remainder: bigint }[] = [];
  let allocated = 0n;
  for (const key of keys) {
    const exact = amount * weights.get(key)!;
    const share = exact / total;
    shares.set(key, share);
    allocated += share;
    remainders.push({ key, remainder: exact - share * total });
  }
  // Stable sort: equal remainders keep key order.
  remainders.sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : 0));
  for (let i = 0; allocated < amount; i++, allocated++) {
    const { key } = remainders[i]!;
    shares.set(key, shares.get(key)! + 1n);
  }
  return shares;
}
