// `meter invoice explain`: where one invoice line comes from. Its amounts (from the invoice, stored
// when the period is closed), its machines, the hours and samples behind it, the price versions
// that priced those hours, its first and last sample ids, its late samples (billed as adjustments on
// a later invoice), and each machine's coverage of the period: the share its sample windows cover,
// with every gap. Once raw samples are pruned (after the period closed and the acceptance window
// passed), ids are gone and coverage comes from the hourly rollups: it says so, and lists as gaps
// the hours with no sample at all.
import type { Ledger, RawSample } from '../ledger/index.js';
import { readInvoice } from './closed-periods.js';
import { coverageGaps, coveredMs, type TimeWindow } from './coverage.js';
import { HOUR_MS, periodOf, type BillingPeriod } from './dates.js';
import type { InvoiceLine } from './invoice.js';
import { ledgerPriceBook } from './price-store.js';
import { lineKey, type LineGrouping } from './range-allocation.js';

export interface MachineCoverage {
  machine: string;
  coveredMs: number;
  /** Percent of the period (so far, for an open period) that its sample windows cover. */
  sharePercent: number;
  gaps: { start: string; end: string }[];
}

export interface Explanation {
  period: string;
  key: string;
  by: string;
  closed: boolean;
  /** The line as invoiced (undefined when the key has no usage billed in the period). */
  line?: InvoiceLine;
  machines: string[];
  /** Hours with usage, and samples, billed in the period itself. */
  hours: number;
  samples: number;
  /** Samples of this period that came after it closed: billed as adjustments on the period named. */
  adjustments: { billedIn: string; samples: number }[];
  /** Price versions that priced its hours, with how many hours each. */
  versions: { effectiveFrom: string; digest: string; hours: number }[];
  firstSample: { id: string; start: string } | null;
  lastSample: { id: string; end: string } | null;
  coverage: MachineCoverage[];
  /** raw: from the samples' windows; hourly: raw samples were pruned, from the hourly rollups. */
  coverageFrom: 'raw' | 'hourly';
  /** Raw samples starting before this were pruned (null when none were). */
  rawPrunedBefore: string | null;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const windowsOf = (gaps: TimeWindow[]) => gaps.map((g) => ({ start: iso(g.start), end: iso(g.end) }));

export async function explainLine(
  ledger: Ledger,
  options: { period: BillingPeriod; key: string; by: LineGrouping; now: number },
): Promise<Explanation> {
  const { period, key, by, now } = options;
  const until = Math.min(period.to, Math.max(period.from, now));
  const invoice = await readInvoice(ledger, { from: period.from, to: period.to, by, now, forecast: false });
  const book = await ledgerPriceBook(ledger);
  const hourly = (await ledger.hourlyUsage(period.from, period.to)).filter((r) => lineKey({ ...r, at: r.hour }, by) === key);
  const machines = [...new Set(hourly.map((r) => r.machine))].sort();
  const ownRows = await ledger.hourlyUsage(period.from, period.to, { adjustedFrom: 0, adjustedTo: 1 });
  const mine = ownRows.filter((r) => lineKey({ ...r, at: r.hour }, by) === key);
  const hours = new Set(mine.map((r) => r.hour));
  const versionHours = new Map<string, { effectiveFrom: number; digest: string; hours: number }>();
  for (const hour of hours) {
    const v = book.versionAt(hour);
    if (!v) continue;
    const entry = versionHours.get(v.digest) ?? { effectiveFrom: v.effectiveFrom, digest: v.digest, hours: 0 };
    entry.hours++;
    versionHours.set(v.digest, entry);
  }
  const adjustmentsByPeriod = new Map<number, number>();
  for (const start of await adjustmentPeriodsOf(ledger, period)) {
    const late = (await ledger.usage(period.from, period.to, { adjustedFrom: start, adjustedTo: start + 1 })).filter((r) => lineKey({ ...r, at: period.from }, by) === key);
    const n = late.reduce((sum, r) => sum + r.samples, 0);
    if (n > 0) adjustmentsByPeriod.set(start, n);
  }
  const prunedBefore = (await ledger.pruneState()).prunedBefore;
  const rawComplete = prunedBefore <= period.from;
  const raw: RawSample[] = rawComplete ? await ledger.rawSamples(period.from, period.to, machines) : [];
  const coverage: MachineCoverage[] = machines.map((machine) => {
    const span = until - period.from;
    if (rawComplete) {
      const windows = raw.filter((s) => s.machine === machine);
      const covered = coveredMs(windows, period.from, until);
      return { machine, coveredMs: covered, sharePercent: span > 0 ? Math.round((covered / span) * 10_000) / 100 : 0, gaps: windowsOf(coverageGaps(windows, period.from, until)) };
    }
    // Hourly: each hour's covered time, placed at the hour's start; hours without a sample are gaps.
    const rows = hourly.filter((r) => r.machine === machine);
    const covered = rows.reduce((sum, r) => sum + Math.min(r.coveredMs, HOUR_MS), 0);
    const windows = rows.map((r) => ({ start: r.hour, end: r.hour + HOUR_MS }));
    return { machine, coveredMs: covered, sharePercent: span > 0 ? Math.round((covered / span) * 10_000) / 100 : 0, gaps: windowsOf(coverageGaps(windows, period.from, until)) };
  });
  const ownRaw = raw.filter((s) => s.adjustedIn === 0).sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
  return {
    period: period.label,
    key,
    by: by === 'machine' ? 'machine' : `label:${by.label}`,
    closed: invoice.closed,
    line: invoice.lines.find((l) => l.key === key),
    machines,
    hours: hours.size,
    samples: mine.reduce((sum, r) => sum + r.samples, 0),
    adjustments: [...adjustmentsByPeriod].map(([start, samples]) => ({ billedIn: iso(start).slice(0, 7), samples })),
    versions: [...versionHours.values()].sort((a, b) => a.effectiveFrom - b.effectiveFrom).map((v) => ({ ...v, effectiveFrom: iso(v.effectiveFrom) })),
    firstSample: ownRaw[0] ? { id: ownRaw[0].id, start: iso(ownRaw[0].start) } : null,
    lastSample: ownRaw.at(-1) ? { id: ownRaw.at(-1)!.id, end: iso(ownRaw.at(-1)!.end) } : null,
    coverage,
    coverageFrom: rawComplete ? 'raw' : 'hourly',
    rawPrunedBefore: prunedBefore > 0 ? iso(prunedBefore) : null,
  };
}

/**
 * The periods on whose invoices samples of `period` were billed as adjustments: only periods after it
 * up to the first open one (the one after the latest closed period) can hold them.
 */
async function adjustmentPeriodsOf(ledger: Pick<Ledger, 'closedInvoices' | 'adjustedPeriods'>, period: BillingPeriod): Promise<number[]> {
  const latest = (await ledger.closedInvoices()).at(-1)?.periodStart;
  if (latest === undefined || latest < period.from) return [];
  const out: number[] = [];
  for (let start = period.to; start <= periodOf(latest).to; start = periodOf(start).to) {
    if ((await ledger.adjustedPeriods(start)).includes(period.from)) out.push(start);
  }
  return out;
}
