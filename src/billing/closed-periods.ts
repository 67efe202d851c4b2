// Closed periods: an invoice finalised once its grace period has passed, stored in the ledger and
// never changed; read back as stored; rebuilt from the ledger to verify it.
//
// Rules:
// - A period closes once its grace period after its end has passed (72 h by default), or with
//   --force once it has ended; never before. Periods close in order: an earlier period with usage
//   must be closed first, so "every period up to the latest closed one is closed" always holds (the
//   worker bills a sample of any of them as an adjustment on the first open period).
// - The stored invoice is the period's invoice by machine at closing, with its number (1, 2, ... in
//   closing order), when it was closed (the ingestion cutoff: samples ingested later are not in
//   it), every price version it used in full, and its digest. The ledger stores it only if nothing
//   it was computed from changed meanwhile (CloseFingerprint), else it is computed again.
// - `meter invoice --period P` shows the stored invoice of a closed P; grouped by a label, it is
//   rebuilt from the same usage and prices, and its total is the stored total.
import { MeterError, UsageError } from '../cli/errors.js';
import { StaleCloseError, type Ledger } from '../ledger/index.js';
import { periodOf, type BillingPeriod } from './dates.js';
import { diffInvoices, type InvoiceDifference } from './digest.js';
import { computeInvoice, withDigest, type Invoice, type InvoiceGrouping, type InvoiceOptions } from './invoice.js';
import { ledgerPriceBook } from './price-store.js';
import { PriceBook, priceVersionDocument, readPriceVersion, type PriceVersionDocument } from './price-versions.js';

export const DEFAULT_GRACE_MS = 72 * 3_600_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The stored invoice of a closed period, or undefined. */
export async function closedInvoice(ledger: Pick<Ledger, 'closedInvoices'>, period: Pick<BillingPeriod, 'from'>): Promise<Invoice | undefined> {
  const record = (await ledger.closedInvoices()).find((c) => c.periodStart === period.from);
  return record ? (JSON.parse(record.document) as Invoice) : undefined;
}

/**
 * The invoice of [from, to): a closed period's stored invoice when the range is that whole period by
 * machine (and no what-if); a closed period by a label, rebuilt from its frozen usage and marked
 * closed; anything else computed.
 */
export async function readInvoice(ledger: Ledger, options: InvoiceOptions): Promise<Invoice> {
  const period = periodOf(options.from);
  if (!options.whatIf && period.from === options.from && period.to === options.to) {
    const stored = await closedInvoice(ledger, period);
    if (stored) {
      if (options.by === 'machine') return stored;
      const rebuilt = await computeInvoice(ledger, { ...options, now: Date.parse(stored.closedAt!), forecast: false, book: bookOf(stored) });
      return withDigest({ ...rebuilt, closed: true, number: stored.number, closedAt: stored.closedAt });
    }
  }
  return computeInvoice(ledger, options);
}

function bookOf(stored: Invoice): PriceBook {
  return PriceBook.of((stored.priceVersions ?? []).map(readPriceVersion));
}

/** Refuses a close that the rules do not allow, in one line that says what to do. */
async function checkCloseable(ledger: Ledger, period: BillingPeriod, now: number, graceMs: number, force: boolean): Promise<void> {
  const closed = await ledger.closedInvoices();
  const done = closed.find((c) => c.periodStart === period.from);
  if (done) throw new UsageError(`${period.label} is already closed (invoice #${done.number}, ${iso(done.closedAt)}); a closed invoice never changes`);
  if (now < period.to) throw new UsageError(`${period.label} has not ended (it ends ${iso(period.to)}); a period closes after its end`);
  if (!force && now < period.to + graceMs) {
    throw new UsageError(
      `${period.label} is in its grace period until ${iso(period.to + graceMs)} (late samples may still arrive); close it then, or now with --force`,
    );
  }
  const latest = closed.at(-1)?.periodStart;
  const earliest = latest === undefined ? 0 : periodOf(latest).to;
  if (earliest < period.from) {
    const before = await ledger.usage(earliest, period.from);
    if (before.length > 0) {
      // The first open period with usage: find it month by month from the earliest usage.
      const first = (await ledger.machines()).reduce((min, m) => Math.min(min, m.firstSeen), Infinity);
      for (let p = periodOf(Math.max(earliest, Number.isFinite(first) ? first : earliest)); p.from < period.from; p = periodOf(p.to)) {
        if ((await ledger.usage(p.from, p.to)).length > 0) throw new UsageError(`close ${p.label} first: periods close in order, and ${p.label} has usage and is open`);
      }
    }
  }
}

export interface CloseOptions {
  now: number;
  graceMs?: number;
  force?: boolean;
}

/** Closes `period`: computes its invoice and stores it for good. Returns the stored invoice. */
export async function closePeriod(ledger: Ledger, period: BillingPeriod, options: CloseOptions): Promise<Invoice> {
  const { now } = options;
  await checkCloseable(ledger, period, now, options.graceMs ?? DEFAULT_GRACE_MS, options.force ?? false);
  for (let attempt = 1; ; attempt++) {
    const fingerprint = await ledger.closeFingerprint(period.from);
    const book = await ledgerPriceBook(ledger);
    const invoice = await computeInvoice(ledger, { from: period.from, to: period.to, by: 'machine', now, forecast: false, book });
    const used = new Set([...invoice.versions, ...invoice.adjustments.flatMap((a) => a.versions)].map((v) => v.digest));
    const priceVersions: PriceVersionDocument[] = book.versions.filter((v) => used.has(v.digest)).map(priceVersionDocument);
    const stored = withDigest({ ...invoice, closed: true, number: fingerprint.closed + 1, closedAt: iso(now), priceVersions });
    try {
      await ledger.closePeriod(
        { period: period.label, periodStart: period.from, number: stored.number!, closedAt: now, digest: stored.digest, document: JSON.stringify(stored) },
        period.to,
        fingerprint,
      );
      return stored;
    } catch (error) {
      if (!(error instanceof StaleCloseError) || attempt >= 5) {
        if (error instanceof StaleCloseError) throw new MeterError(`${period.label} kept changing while it was being closed (samples still arriving for it?); try again`);
        throw error;
      }
    }
  }
}

export interface VerifyResult {
  period: string;
  number: number;
  storedDigest: string;
  rebuiltDigest: string;
  identical: boolean;
  differences: InvoiceDifference[];
}

/** Rebuilds a closed invoice from the ledger's usage and the invoice's own stored price versions, and compares. */
export async function verifyPeriod(ledger: Ledger, period: BillingPeriod): Promise<VerifyResult> {
  const stored = await closedInvoice(ledger, period);
  if (!stored) throw new UsageError(`${period.label} is not closed; only a closed period can be verified (meter invoice close --period ${period.label})`);
  const { digest: storedDigest, ...storedBody } = stored;
  const rebuiltInvoice = await computeInvoice(ledger, { from: period.from, to: period.to, by: 'machine', now: Date.parse(stored.closedAt!), forecast: false, book: bookOf(stored) });
  const rebuilt = withDigest({ ...rebuiltInvoice, closed: true, number: stored.number, closedAt: stored.closedAt, priceVersions: stored.priceVersions });
  // The stored digest is checked against the stored body too: an edited document shows here.
  const bodyDigest = withDigest(storedBody).digest;
  const differences = diffInvoices(storedBody as never, rebuilt as never);
  if (bodyDigest !== storedDigest) differences.unshift({ path: 'digest (of the stored invoice itself)', stored: storedDigest, rebuilt: bodyDigest });
  return { period: period.label, number: stored.number!, storedDigest, rebuiltDigest: rebuilt.digest, identical: differences.length === 0 && rebuilt.digest === storedDigest, differences };
}

export type { InvoiceGrouping };
