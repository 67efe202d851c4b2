// Invoices, computed from the ledger at read time (or, for a closed period, read as stored).
//
// Each hour of usage is priced with the price version in force at that hour (price-versions.ts);
// tiers apply to each billing account's usage over the whole billing period, and the exact amount
// is allocated to the lines by largest remainder (pooled-tiers.ts, range-allocation.ts, and the
// worked example in examples/pooled-tiers.md), so every grouping gives the same total to the
// micro-unit and a --from/--to range inside a period gets its share of the period's pricing.
// A period's own usage is what it is billed for; samples that arrived after their period was closed
// are adjustment lines on the first open period (adjustments.ts). `--rates FILE` prices everything
// with that card instead: a what-if, marked as such.
import { UsageError } from '../cli/errors.js';
import type { Ledger } from '../ledger/index.js';
import { adjustmentsOn, type AdjustmentLine } from './adjustments.js';
import { parsePeriod, periodOf, periodsCovering, type BillingPeriod } from './dates.js';
import { invoiceDigest } from './digest.js';
import { forecastLines, type InvoiceForecast } from './invoice-forecast.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, formatMicros, formatUsageHours, parseDecimal } from './money.js';
import { pricePeriods } from './period-pricing.js';
import { ledgerPriceBook, whatIfBook } from './price-store.js';
import type { PriceBook, PriceVersionDocument, PriceVersionRef } from './price-versions.js';
import { allocateRange, type AllocatedLine, type LineGrouping } from './range-allocation.js';
import type { RateCard } from './rate-card.js';

export type InvoiceGrouping = LineGrouping;

/** The UTC calendar month `period` (YYYY-MM), or the one containing `now`. */
export function billingPeriod(now: number, period?: string): BillingPeriod {
  return period === undefined || period === '' ? periodOf(now) : parsePeriod('period', period);
}

export interface InvoiceOptions {
  from: number;
  to: number;
  by: InvoiceGrouping;
  now: number;
  /** --rates FILE on a reader: price everything with this card instead of the ledger's versions. */
  whatIf?: RateCard;
  /** Forecast an open range (default true). */
  forecast?: boolean;
  /** Price with this book (verify: a closed invoice's stored versions); else the ledger's, or whatIf's. */
  book?: PriceBook;
  /**
   * Compute the digest (default true). A reader that shows no digest (the console) skips it: it is a
   * canonical JSON and a SHA-256 of the whole invoice, a tenth of a 10,000-machine invoice's time.
   * Without it `digest` is ''.
   */
  digest?: boolean;
}

/** One invoice line; amounts and usage are exact decimal strings. */
export interface InvoiceLine {
  key: string;
  cpuCoreHours: string;
  memGiBHours: string;
  cpuCost: string;
  memCost: string;
  total: string;
  /** The price versions whose hours are in this line. */
  versions: PriceVersionRef[];
  /** The forecast total of the line for the range (open ranges), and its interval. */
  forecast?: string;
  forecastLower?: string | null;
  forecastUpper?: string | null;
}

export interface AccountLine {
  account: string;
  cpuCost: string;
  memCost: string;
  total: string;
}

/** The `meter invoice --format json` shape: DESIGN.md's fields first, then the ones added since. */
export interface Invoice {
  currency: string;
  from: string;
  to: string;
  lines: InvoiceLine[];
  /** Sum of the lines. */
  total: string;
  forecast?: string;
  forecastDetail?: InvoiceForecast;
  /** Priced with a --rates card instead of the ledger's price versions. */
  whatIf: boolean;
  versions: PriceVersionRef[];
  /** Per billing account (the fleet, or a label value): what its tiers priced. */
  accounts: AccountLine[];
  /** Late samples of closed periods, billed here (whole periods in the range only). */
  adjustments: AdjustmentLine[];
  adjustmentsTotal: string;
  /** total + adjustmentsTotal. */
  amountDue: string;
  /** The stored invoice of a closed period. */
  closed: boolean;
  number?: number;
  /** When it was closed: samples ingested after it are not in it (they are adjustments later). */
  closedAt?: string;
  /** A closed invoice: every price version it used, in full, so it can be rebuilt and checked for good. */
  priceVersions?: PriceVersionDocument[];
  /** SHA-256 of the canonical JSON of everything else (src/billing/digest.ts). */
  digest: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function lineOf(l: AllocatedLine): InvoiceLine {
  return {
    key: l.key,
    cpuCoreHours: formatUsageHours(l.cpuUnits, CPU_UNITS_PER_CORE_HOUR),
    memGiBHours: formatUsageHours(l.memUnits, MEM_UNITS_PER_GIB_HOUR),
    cpuCost: formatMicros(l.cpuMicros),
    memCost: formatMicros(l.memMicros),
    total: formatMicros(l.totalMicros),
    versions: l.versions,
  };
}

/** The invoice's digest filled in: over every other field, in canonical JSON. */
export function withDigest(invoice: Omit<Invoice, 'digest'> & { digest?: string }): Invoice {
  const { digest: _, ...rest } = invoice;
  return { ...rest, digest: invoiceDigest(rest) };
}

/** The book prices are read from: the ledger's versions, or the what-if card. */
export async function priceBookFor(ledger: Pick<Ledger, 'priceVersions'>, whatIf?: RateCard): Promise<PriceBook> {
  return whatIf ? whatIfBook(whatIf) : ledgerPriceBook(ledger);
}

/** The invoice for [from, to), computed from the ledger (a closed period's stored invoice: see closed-periods.ts). */
export async function computeInvoice(ledger: Ledger, options: InvoiceOptions): Promise<Invoice> {
  const { from, to, by, now } = options;
  if (!(to > from)) throw new UsageError('the invoice range is empty: --to must be after --from');
  const book = options.book ?? (await priceBookFor(ledger, options.whatIf));
  const priced = await pricePeriods(ledger, from, to, book);
  const range = allocateRange(priced, { from, to }, by);
  const lines = range.lines.map(lineOf);
  // Adjustments belong to the invoice of a whole period: those the range covers entirely.
  const whole = periodsCovering(from, to).filter((p) => p.from >= from && p.to <= to);
  const adjustments: AdjustmentLine[] = [];
  for (const period of whole) adjustments.push(...(await adjustmentsOn(ledger, period, book, by)));
  const adjustmentsMicros = adjustments.reduce((sum, a) => sum + (parseDecimal(a.total, 6) ?? 0n), 0n);
  const invoice: Omit<Invoice, 'digest'> = {
    currency: range.currency,
    from: iso(from),
    to: iso(to),
    lines,
    total: formatMicros(range.totalMicros),
    whatIf: Boolean(options.whatIf),
    versions: range.versions,
    accounts: range.accounts.map((a) => ({ account: a.account, cpuCost: formatMicros(a.cpuMicros), memCost: formatMicros(a.memMicros), total: formatMicros(a.totalMicros) })),
    adjustments,
    adjustmentsTotal: formatMicros(adjustmentsMicros),
    amountDue: formatMicros(range.totalMicros + adjustmentsMicros),
    closed: false,
  };
  if ((options.forecast ?? true) && now >= from && now < to) {
    const forecast = await forecastLines(ledger, { from, to, now, by, book, priced, actual: range });
    for (const line of lines) {
      const f = forecast.lines.get(line.key);
      if (!f) continue;
      line.forecast = f.total;
      line.forecastLower = f.lower;
      line.forecastUpper = f.upper;
    }
    // (A set: a fleet's invoice has a line per machine, and a scan per forecast was quadratic.)
    const billed = new Set(lines.map((l) => l.key));
    for (const [key, f] of forecast.lines) {
      if (billed.has(key)) continue;
      lines.push({ key, cpuCoreHours: '0.000000', memGiBHours: '0.000000', cpuCost: '0.000000', memCost: '0.000000', total: '0.000000', versions: [], forecast: f.total, forecastLower: f.lower, forecastUpper: f.upper });
    }
    lines.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    invoice.forecast = forecast.total.total;
    invoice.forecastDetail = forecast.total;
  }
  return options.digest === false ? { ...invoice, digest: '' } : withDigest(invoice);
}
