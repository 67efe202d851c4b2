// Exact arithmetic for usage and money. Usage is kept in integer units (CPU busy microseconds,
// memory byte-milliseconds), prices as integers scaled by 10^12, money as integer micro-units; all
// as BigInt so nothing is ever a float sum. Division happens once per line, rounded half up.

/** Micro-units per currency unit: amounts are exact to 0.000001. */
export const MICROS = 1_000_000n;
/** Prices are parsed exactly with up to this many decimal places. */
export const PRICE_DECIMALS = 12;
export const PRICE_SCALE = 10n ** BigInt(PRICE_DECIMALS);
/** Tier boundaries (core-hours, GiB-hours) are exact with up to this many decimal places. */
export const QUANTITY_DECIMALS = 6;
export const QUANTITY_SCALE = 10n ** BigInt(QUANTITY_DECIMALS);

/** CPU usage unit: one busy microsecond of one core. A core-hour is 3.6e9 of them. */
export const CPU_UNITS_PER_CORE_HOUR = 3_600_000_000n;
/** Memory usage unit: one byte held for one millisecond. A GiB-hour is 2^30 x 3.6e6 of them. */
export const MEM_UNITS_PER_GIB_HOUR = 2n ** 30n * 3_600_000n;

/** floor((n / d) + 1/2) for n >= 0, d > 0: round half up. */
export function divRoundHalfUp(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError('divisor must be positive');
  if (n < 0n) return -divRoundHalfUp(-n, d);
  return (2n * n + d) / (2n * d);
}

/** Parses a plain decimal ("0.031611", "12", 3.5) into an integer scaled by 10^decimals, exactly. */
export function parseDecimal(value: unknown, decimals: number): bigint | undefined {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return undefined;
  }
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) return undefined;
  const [, sign, whole, fraction = ''] = m;
  if (fraction.length > decimals) return undefined;
  const scaled = BigInt(whole! + fraction.padEnd(decimals, '0'));
  return sign === '-' ? -scaled : scaled;
}

/** Formats an integer scaled by 10^decimals as a plain decimal string with exactly `decimals` places. */
export function formatScaled(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return `${negative ? '-' : ''}${whole}${decimals > 0 ? `.${fraction}` : ''}`;
}

/** Micro-units as a decimal string: 12345678n -> "12.345678". */
export const formatMicros = (micros: bigint): string => formatScaled(micros, 6);

/** Usage in integer units as hours (core-hours, GiB-hours), rounded half up to 6 decimals. */
export function formatUsageHours(units: bigint, unitsPerHour: bigint): string {
  return formatScaled(divRoundHalfUp(units * QUANTITY_SCALE, unitsPerHour), QUANTITY_DECIMALS);
}

/** A price (scaled by 10^12) as the shortest exact decimal string. */
export function formatPrice(price: bigint): string {
  const text = formatScaled(price, PRICE_DECIMALS).replace(/0+$/, '');
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

/** CPU busy seconds (a float from the sample) as integer busy microseconds, rounded half up. */
export function busyMicros(busySeconds: number): number {
  return Math.round(busySeconds * 1e6);
}

const TWO_POW_30 = 2 ** 30;
const MASK_30 = (1n << 30n) - 1n;

/**
 * A sample's memory usage, usedBytes x window ms, split into whole GiB-milliseconds and a remainder in
 * byte-milliseconds (< 2^30), so both fit a 64-bit SQLite integer however large the sums get. The
 * exact value is gibMs x 2^30 + remByteMs.
 */
export function memoryUsage(usedBytes: number, windowMs: number): { gibMs: number; remByteMs: number } {
  const product = usedBytes * windowMs;
  if (Number.isSafeInteger(product)) {
    const gibMs = Math.floor(product / TWO_POW_30);
    return { gibMs, remByteMs: product - gibMs * TWO_POW_30 };
  }
  const exact = BigInt(usedBytes) * BigInt(windowMs);
  return { gibMs: Number(exact >> 30n), remByteMs: Number(exact & MASK_30) };
}

/** Joins the two memory columns back into byte-milliseconds. */
export const memByteMs = (gibMs: bigint, remByteMs: bigint): bigint => (gibMs << 30n) + remByteMs;

/**
 * An integer from a database driver as a BigInt, exactly: better-sqlite3 gives numbers (or BigInts
 * in safe-integers mode), pg gives int8 and numeric as strings. A number beyond 2^53 has already lost
 * digits, so it is refused rather than passed on wrong.
 */
export function toBigInt(value: unknown, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  const shown = typeof value === 'number' && Number.isInteger(value) ? `${value} (beyond 2^53, digits lost)` : JSON.stringify(value);
  throw new RangeError(`${what}: ${shown} is not an exact integer`);
}

/** The sum of BigInts (0n for none). */
export function sumBigInt(values: Iterable<bigint>): bigint {
  let total = 0n;
  for (const v of values) total += v;
  return total;
}
