// Invoices, forecasts and per-machine cost summaries, computed from the ledger at read time.
//
// Rating is a pure function of a period's usage: the ledger keeps exact integer usage per machine,
// label set and hour (and month); this module groups it into invoice lines, prices each line's usage
// through its plan's tiers, and rounds once per line and resource.
//
// Rounding: each line's CPU cost and memory cost is rounded half up to micro-units (0.000001) from the
// exact value; a line's total is the sum of its two rounded costs; the invoice total is the sum of the
// rounded line totals. Usage figures are shown rounded half up to 6 decimals; costs use the exact usage.
// Tiers apply to each line's usage over the invoiced range (a calendar month by default), per plan:
// when one line holds machines on different plans, each plan's tiers see that plan's share.
//
// Forecast (open periods only, from <= now < to): per line, the usage so far plus the run-rate
// (usage over the last runRateWindowMs, 24 h by default, whole hours, never before the period start)
// extended over the time left, priced through the tiers like the actual usage.
import { UsageError } from '../cli/errors.js';
import { HOUR_MS, hourOf, monthOf, nextMonth, type Ledger, type UsageRow } from '../ledger/index.js';
import {
  CPU_UNITS_PER_CORE_HOUR,
  MEM_UNITS_PER_GIB_HOUR,
  divRoundHalfUp,
  formatMicros,
  formatUsageHours,
} from './money.js';
import { planFor, type PriceSpec, type RateCard } from './rate-card.js';
import { costNumerator, numeratorToMicros } from './rating.js';

export const DEFAULT_RUN_RATE_WINDOW_MS = 24 * HOUR_MS;

export interface BillingPeriod {
  from: number;
  to: number;
  /** YYYY-MM */
  label: string;
}

/** The UTC calendar month `period` (YYYY-MM), or the one containing `now`. */
export function billingPeriod(now: number, period?: string): BillingPeriod {
  let from: number;
  if (period === undefined || period === '') {
    from = monthOf(now);
  } else {
    const m = /^(\d{4})-(\d{2})$/.exec(period.trim());
    const month = m ? Number(m[2]) : 0;
    if (!m || month < 1 || month > 12) {
      throw new UsageError(`--period: ${JSON.stringify(period)} is not a month; give YYYY-MM, e.g. 2026-11`);
    }
    from = Date.UTC(Number(m[1]), month - 1, 1);
  }
  const to = nextMonth(from);
  return { from, to, label: new Date(from).toISOString().slice(0, 7) };
}

export type InvoiceGrouping = 'machine' | { label: string };

export interface InvoiceOptions {
  from: number;
  to: number;
  by: InvoiceGrouping;
  rateCard: RateCard;
  now: number;
  runRateWindowMs?: number;
}

/** One invoice line; amounts and usage are exact decimal strings. */
export interface InvoiceLine {
  key: string;
  cpuCoreHours: string;
  memGiBHours: string;
  cpuCost: string;
  memCost: string;
  total: string;
  forecast?: string;
}

/** The `meter invoice --format json` shape (DESIGN.md). */
export interface Invoice {
  currency: string;
  from: string;
  to: string;
  lines: InvoiceLine[];
  total: string;
  forecast?: string;
}

interface PlanUsage {
  cpu: PriceSpec;
  memory: PriceSpec;
  cpuUnits: bigint;
  memUnits: bigint;
}

interface RatedLine {
  key: string;
  cpuUnits: bigint;
  memUnits: bigint;
  cpuMicros: bigint;
  memMicros: bigint;
}

/** Groups usage rows into lines, each split by plan: Map<line key, Map<plan name, usage>>. */
function groupLines(rows: UsageRow[], by: InvoiceGrouping, card: RateCard): Map<string, Map<string, PlanUsage>> {
  const lines = new Map<string, Map<string, PlanUsage>>();
  for (const row of rows) {
    const key = by === 'machine' ? row.machine : (row.labels[by.label] ?? '(none)');
    const plan = planFor(card, row.machine, row.labels);
    const planKey = plan?.name ?? '';
    let plans = lines.get(key);
    if (!plans) lines.set(key, (plans = new Map()));
    let usage = plans.get(planKey);
    if (!usage) {
      usage = { cpu: plan?.cpu ?? card.cpu, memory: plan?.memory ?? card.memory, cpuUnits: 0n, memUnits: 0n };
      plans.set(planKey, usage);
    }
    usage.cpuUnits += row.cpuBusyUs;
    usage.memUnits += row.memByteMs;
  }
  return lines;
}

function rateLine(key: string, plans: Map<string, PlanUsage>): RatedLine {
  let cpuUnits = 0n;
  let memUnits = 0n;
  let cpuNumerator = 0n;
  let memNumerator = 0n;
  for (const p of plans.values()) {
    cpuUnits += p.cpuUnits;
    memUnits += p.memUnits;
    cpuNumerator += costNumerator(p.cpuUnits, CPU_UNITS_PER_CORE_HOUR, p.cpu);
    memNumerator += costNumerator(p.memUnits, MEM_UNITS_PER_GIB_HOUR, p.memory);
  }
  return {
    key,
    cpuUnits,
    memUnits,
    cpuMicros: numeratorToMicros(cpuNumerator, CPU_UNITS_PER_CORE_HOUR),
    memMicros: numeratorToMicros(memNumerator, MEM_UNITS_PER_GIB_HOUR),
  };
}

/** Usage over the recent run-rate window, whole hours, not before `notBefore`; and the window's length. */
async function recentUsage(ledger: Ledger, now: number, windowMs: number, notBefore: number): Promise<{ rows: UsageRow[]; windowMs: number }> {
  // Hour-aligned so the hourly rollups answer it (the current hour included, up to now).
  const start = Math.max(notBefore, hourOf(now - windowMs));
  if (start >= now) return { rows: [], windowMs: 0 };
  return { rows: await ledger.usage(start, hourOf(now) + HOUR_MS), windowMs: now - start };
}

/** Scales plan usage by the run-rate over the time left: usage + window x left / windowMs. */
function projectLines(
  lines: Map<string, Map<string, PlanUsage>>,
  recent: Map<string, Map<string, PlanUsage>>,
  leftMs: number,
  windowMs: number,
): Map<string, Map<string, PlanUsage>> {
  const projected = new Map<string, Map<string, PlanUsage>>();
  const keys = new Set([...lines.keys(), ...recent.keys()]);
  for (const key of keys) {
    const plans = new Map<string, PlanUsage>();
    const now = lines.get(key) ?? new Map<string, PlanUsage>();
    const rate = recent.get(key) ?? new Map<string, PlanUsage>();
    for (const planKey of new Set([...now.keys(), ...rate.keys()])) {
      const base = now.get(planKey);
      const r = rate.get(planKey);
      const spec = (base ?? r)!;
      const extra = (units: bigint) => (windowMs > 0 ? (units * BigInt(leftMs)) / BigInt(windowMs) : 0n);
      plans.set(planKey, {
        cpu: spec.cpu,
        memory: spec.memory,
        cpuUnits: (base?.cpuUnits ?? 0n) + extra(r?.cpuUnits ?? 0n),
        memUnits: (base?.memUnits ?? 0n) + extra(r?.memUnits ?? 0n),
      });
    }
    projected.set(key, plans);
  }
  return projected;
}

const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The invoice for [from, to), in the DESIGN.md JSON shape; forecasts when the range is still open. */
export async function computeInvoice(ledger: Ledger, options: InvoiceOptions): Promise<Invoice> {
  const { from, to, by, rateCard, now } = options;
  if (!(to > from)) throw new UsageError('the invoice range is empty: --to must be after --from');
  const lines = groupLines(await ledger.usage(from, to), by, rateCard);
  const open = now >= from && now < to;
  let forecasts: Map<string, bigint> | undefined;
  if (open) {
    const recent = await recentUsage(ledger, now, options.runRateWindowMs ?? DEFAULT_RUN_RATE_WINDOW_MS, from);
    const projected = projectLines(lines, groupLines(recent.rows, by, rateCard), to - now, recent.windowMs);
    forecasts = new Map();
    for (const [key, plans] of projected) {
      const rated = rateLine(key, plans);
      forecasts.set(key, rated.cpuMicros + rated.memMicros);
      if (!lines.has(key)) lines.set(key, new Map());
    }
  }
  let total = 0n;
  let forecastTotal = 0n;
  const out: InvoiceLine[] = [];
  for (const key of [...lines.keys()].sort(compareKeys)) {
    const rated = rateLine(key, lines.get(key)!);
    const lineTotal = rated.cpuMicros + rated.memMicros;
    total += lineTotal;
    const line: InvoiceLine = {
      key,
      cpuCoreHours: formatUsageHours(rated.cpuUnits, CPU_UNITS_PER_CORE_HOUR),
      memGiBHours: formatUsageHours(rated.memUnits, MEM_UNITS_PER_GIB_HOUR),
      cpuCost: formatMicros(rated.cpuMicros),
      memCost: formatMicros(rated.memMicros),
      total: formatMicros(lineTotal),
    };
    if (forecasts) {
      const f = forecasts.get(key) ?? lineTotal;
      forecastTotal += f;
      line.forecast = formatMicros(f);
    }
    out.push(line);
  }
  const invoice: Invoice = {
    currency: rateCard.currency,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    lines: out,
    total: formatMicros(total),
  };
  if (forecasts) invoice.forecast = formatMicros(forecastTotal);
  return invoice;
}

export interface MachineSummaryOptions {
  now: number;
  rateCard: RateCard;
  /** How far back costPerHour looks; whole hours when 1 h or more. Default 1 h. */
  runRateWindowMs?: number;
}

export interface MachineSummary {
  machine: string;
  labels: Record<string, string>;
  /** End of its latest sample window, epoch ms. */
  lastSeen: number;
  /** Cost so far in the current billing period (UTC month), decimal string. */
  periodCost: string;
  /** Cost per hour over the recent window, at the margin of the period's tiers, decimal string. */
  costPerHour: string;
  currency: string;
}

/**
 * Per machine: its labels, when it was last seen, its cost so far this month and its recent cost per
 * hour: (cost of the period's usage) - (cost of it without the window's usage), per hour of window.
 */
export async function machineSummaries(ledger: Ledger, options: MachineSummaryOptions): Promise<MachineSummary[]> {
  const { now, rateCard } = options;
  const windowMs = options.runRateWindowMs ?? HOUR_MS;
  const period = billingPeriod(now);
  const lines = groupLines(await ledger.usage(period.from, period.to), 'machine', rateCard);
  let recent: { rows: UsageRow[]; windowMs: number };
  if (windowMs >= HOUR_MS) {
    recent = await recentUsage(ledger, now, windowMs, period.from);
  } else {
    const start = Math.max(period.from, now - windowMs);
    recent = { rows: start < now ? await ledger.usage(start, now + HOUR_MS) : [], windowMs: Math.max(0, now - start) };
  }
  const recentLines = groupLines(recent.rows, 'machine', rateCard);
  return (await ledger.machines()).map((m) => {
    const plans = lines.get(m.machine);
    const rated = plans ? rateLine(m.machine, plans) : undefined;
    const periodMicros = rated ? rated.cpuMicros + rated.memMicros : 0n;
    let perHour = 0n;
    const window = recentLines.get(m.machine);
    if (plans && window && recent.windowMs > 0) {
      const before = new Map<string, PlanUsage>();
      for (const [planKey, usage] of plans) {
        const w = window.get(planKey);
        before.set(planKey, {
          ...usage,
          cpuUnits: usage.cpuUnits - (w?.cpuUnits ?? 0n),
          memUnits: usage.memUnits - (w?.memUnits ?? 0n),
        });
      }
      const prior = rateLine(m.machine, before);
      const windowMicros = periodMicros - prior.cpuMicros - prior.memMicros;
      perHour = divRoundHalfUp(windowMicros * BigInt(HOUR_MS), BigInt(recent.windowMs));
    }
    return {
      machine: m.machine,
      labels: m.labels,
      lastSeen: m.lastSeen,
      periodCost: formatMicros(periodMicros),
      costPerHour: formatMicros(perHour),
      currency: rateCard.currency,
    };
  });
}

export interface LedgerStats {
  /** Distinct samples in the ledger. */
  samples: number;
  /** Samples seen again (duplicates, replays) and ignored. */
  duplicates: number;
  /** Messages deleted by Kafka's retention before the worker could read them (never billed). */
  lost: number;
  /** Offsets passed over by `meter ledger offsets --reset-to-log end` (never billed). */
  skipped: number;
  dlq: { total: number; byReason: Record<string, number> };
  offsets: { group: string; topic: string; partition: number; nextOffset: number }[];
}

export async function ledgerStats(ledger: Ledger): Promise<LedgerStats> {
  const byReason: Record<string, number> = {};
  let total = 0;
  const counts = await ledger.counts();
  for (const row of await ledger.dlqCounts()) {
    byReason[row.reason] = (byReason[row.reason] ?? 0) + row.count;
    total += row.count;
  }
  return {
    samples: counts.samples,
    duplicates: counts.duplicates,
    lost: counts.lost,
    skipped: counts.skipped,
    dlq: { total, byReason },
    offsets: await ledger.offsets(),
  };
}

/** Parses --from/--to: an ISO date or date-time; without an offset it is UTC. */
export function parseInstant(flag: string, value: string): number {
  let text = value.trim().replace(' ', 'T');
  const m = /^\d{4}-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?)?$/.exec(text);
  if (m && text.includes('T') && !m[1]) text += 'Z';
  const ms = m ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw new UsageError(
      `--${flag}: ${JSON.stringify(value)} is not an ISO date; give e.g. 2026-11-01 or 2026-11-01T12:00:00Z (UTC unless an offset is given)`,
    );
  }
  return ms;
}
