// The digest of an invoice: what `meter invoice close` stores and `meter invoice verify` recomputes.
//
// The invoice is serialised as RFC 8785 canonical JSON (JCS: keys sorted by UTF-16 code units, no
// white space, ECMAScript number formatting; the `canonicalize` package is its reference
// implementation), then hashed with SHA-256. Anyone can recompute it from the JSON output with any
// JCS library and `sha256sum`, without meter. Amounts are decimal strings in the invoice, so no float
// is ever hashed; BigInts are written as decimal strings too.
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';

/** JSON with BigInts as decimal strings; undefined and functions dropped as JSON.stringify drops them. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/** RFC 8785 canonical JSON of `value`. NaN and Infinity are refused: they have no JSON form. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(plain(value));
  if (text === undefined) throw new TypeError('nothing to serialise: the value has no JSON form');
  return text;
}

/** The fields an invoice's digest does not cover: the digest itself. */
const NOT_HASHED = new Set(['digest']);

/** SHA-256 (hex) of the canonical JSON of `invoice`, leaving out its own `digest` field. */
export function invoiceDigest(invoice: Readonly<Record<string, unknown>>): string {
  const hashed = Object.fromEntries(Object.entries(invoice).filter(([k]) => !NOT_HASHED.has(k)));
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex');
}

export interface InvoiceDifference {
  /** `total`, `lines[web-1].cpuCost`, `lines[web-9]` (a line only one side has). */
  path: string;
  stored: unknown;
  rebuilt: unknown;
}

interface Comparable {
  lines?: readonly { key: string }[];
  [field: string]: unknown;
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * Where a rebuilt invoice differs from the stored one, field by field and line by line (lines matched
 * by key), in a stable order; empty when their digests agree.
 */
export function diffInvoices(stored: Comparable, rebuilt: Comparable): InvoiceDifference[] {
  const differences: InvoiceDifference[] = [];
  const fields = [...new Set([...Object.keys(stored), ...Object.keys(rebuilt)])].filter((k) => k !== 'lines' && !NOT_HASHED.has(k)).sort();
  for (const field of fields) {
    if (!same(stored[field], rebuilt[field])) differences.push({ path: field, stored: stored[field], rebuilt: rebuilt[field] });
  }
  const storedLines = new Map((stored.lines ?? []).map((l) => [l.key, l as unknown as Record<string, unknown>]));
  const rebuiltLines = new Map((rebuilt.lines ?? []).map((l) => [l.key, l as unknown as Record<string, unknown>]));
  const keys = [...new Set([...storedLines.keys(), ...rebuiltLines.keys()])].sort();
  for (const key of keys) {
    const a = storedLines.get(key);
    const b = rebuiltLines.get(key);
    if (!a || !b) {
      differences.push({ path: `lines[${key}]`, stored: a, rebuilt: b });
      continue;
    }
    for (const field of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (!same(a[field], b[field])) differences.push({ path: `lines[${key}].${field}`, stored: a[field], rebuilt: b[field] });
    }
  }
  const order = (lines: Comparable['lines']) => (lines ?? []).map((l) => l.key);
  if (differences.length === 0 && !same(order(stored.lines), order(rebuilt.lines))) {
    differences.push({ path: 'lines (order)', stored: order(stored.lines), rebuilt: order(rebuilt.lines) });
  }
  return differences;
}
