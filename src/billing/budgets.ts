// Budgets: an amount per billing period (a UTC calendar month) for the machines with a label value
// (team=search) or for one machine. A budget's status compares the period's forecast with it:
//   ok    forecast <= 80% of the budget
//   warn  forecast above 80% (it "passes" 80%)
//   over  forecast above 100%: forecast to exceed the budget
// The forecast is the invoice's (src/billing/invoice-forecast.ts): the chosen seasonal method on the
// weeks of hourly cost before now, with its interval, or the run-rate flagged on short history. For
// a period that has ended the forecast is the actual cost.
import { billingPeriod, computeInvoice, type Invoice } from './invoice.js';
import { formatMicros, parseDecimal } from './money.js';
import type { Ledger } from '../ledger/index.js';
import type { RateCard } from './rate-card.js';

export interface Budget {
  name: string;
  /** Either a label value or a machine. */
  scope: { label: string; value: string } | { machine: string };
  /** Micro-units of the rate card's currency, per billing period. */
  amountMicros: bigint;
}

export type BudgetLevel = 'ok' | 'warn' | 'over';

/** Thresholds in percent of the budget; passing one raises the level (and may notify). */
export const BUDGET_THRESHOLDS = [80, 100] as const;

export interface BudgetStatus {
  name: string;
  /** "team=search" or "machine=web-1". */
  scope: string;
  period: string;
  currency: string;
  budget: string;
  actual: string;
  forecast: string;
  /** Forecast as a percentage of the budget, two decimals. */
  forecastPercent: number;
  actualPercent: number;
  level: BudgetLevel;
  /** Thresholds (percent) the forecast has passed. */
  passed: number[];
  /** The forecast's interval (nominal 80%), or null without one. */
  forecastLower: string | null;
  forecastUpper: string | null;
  /** The forecast rests on less than a day of history: a guess. */
  shortHistory: boolean;
  /** How it was forecast, in one line. */
  forecastNote: string;
}

type Fail = (path: string, message: string) => never;

/**
 * Reads the rate card's `budgets` list:
 *   budgets:
 *     - name: search team          # optional; defaults to the scope
 *       label: team=search         # or: machine: web-1
 *       amount: 500                # per billing period, in the rate card's currency
 */
export function parseBudgets(raw: unknown, fail: Fail): Budget[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) fail('budgets', 'must be a list of budgets, each with label or machine, and amount');
  const names = new Set<string>();
  return raw.map((entry: unknown, i: number) => {
    const path = `budgets[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      fail(path, 'must be an object with label (KEY=VALUE) or machine, and amount');
    }
    const b = entry as Record<string, unknown>;
    for (const key of Object.keys(b)) {
      if (!['name', 'label', 'machine', 'amount'].includes(key)) fail(`${path}.${key}`, 'unknown field; expected one of name, label, machine, amount');
    }
    let scope: Budget['scope'];
    if (b.label !== undefined && b.machine !== undefined) fail(path, 'give either label or machine, not both');
    if (b.label !== undefined) {
      const m = typeof b.label === 'string' ? /^([^=\s]+)=(.+)$/.exec(b.label.trim()) : null;
      if (!m) fail(`${path}.label`, `${JSON.stringify(b.label)} is not KEY=VALUE, e.g. team=search`);
      scope = { label: m[1]!, value: m[2]! };
    } else if (b.machine !== undefined) {
      if (typeof b.machine !== 'string' || !b.machine.trim()) fail(`${path}.machine`, 'must be a machine id');
      scope = { machine: b.machine.trim() };
    } else {
      fail(path, 'needs label (KEY=VALUE) or machine');
    }
    const amount = parseDecimal(b.amount, 6);
    if (amount === undefined || amount <= 0n) {
      fail(`${path}.amount`, `${JSON.stringify(b.amount)} is not a positive amount (up to 6 decimal places)`);
    }
    const scopeText = 'label' in scope ? `${scope.label}=${scope.value}` : `machine=${scope.machine}`;
    const name = b.name === undefined ? scopeText : String(b.name).trim();
    if (!name) fail(`${path}.name`, 'must be a non-empty string');
    if (names.has(name)) fail(`${path}.name`, `"${name}" is used by an earlier budget; budget names must be unique`);
    names.add(name);
    return { name, scope, amountMicros: amount };
  });
}

const toMicros = (amount: string): bigint => parseDecimal(amount, 6) ?? 0n;

/** Percent of `part` in `whole`, to two decimals (exact integer arithmetic, rounded down). */
function percent(part: bigint, whole: bigint): number {
  return Number((part * 10_000n) / whole) / 100;
}

export function budgetLevel(forecastMicros: bigint, budgetMicros: bigint): { level: BudgetLevel; passed: number[] } {
  // "Passes" is strictly above: a forecast exactly at 100% is within budget.
  const passed = BUDGET_THRESHOLDS.filter((t) => forecastMicros * 100n > budgetMicros * BigInt(t));
  const level: BudgetLevel = passed.includes(100) ? 'over' : passed.includes(80) ? 'warn' : 'ok';
  return { level, passed: [...passed] };
}

/**
 * Every budget for the billing period containing `now` (or `period`, YYYY-MM), priced with the
 * ledger's price versions (or `whatIf`). `invoices`: this period's invoices the caller already
 * computed, keyed "machine" or "label:KEY", so they are not computed again.
 */
export async function evaluateBudgets(
  ledger: Ledger,
  options: { budgets: readonly Budget[]; now: number; period?: string; whatIf?: RateCard; invoices?: ReadonlyMap<string, Invoice> },
): Promise<BudgetStatus[]> {
  const { budgets, now } = options;
  if (budgets.length === 0) return [];
  const period = billingPeriod(now, options.period);
  const invoices = new Map<string, Invoice>(options.invoices);
  const invoiceBy = async (by: 'machine' | { label: string }) => {
    const key = by === 'machine' ? 'machine' : `label:${by.label}`;
    let invoice = invoices.get(key);
    if (!invoice) invoices.set(key, (invoice = await computeInvoice(ledger, { from: period.from, to: period.to, by, now, whatIf: options.whatIf })));
    return invoice;
  };
  const statuses: BudgetStatus[] = [];
  for (const budget of budgets) {
    const invoice = 'label' in budget.scope ? await invoiceBy({ label: budget.scope.label }) : await invoiceBy('machine');
    const key = 'label' in budget.scope ? budget.scope.value : budget.scope.machine;
    const line = invoice.lines.find((l) => l.key === key);
    const actual = line ? toMicros(line.total) : 0n;
    const forecast = line ? toMicros(line.forecast ?? line.total) : 0n;
    const { level, passed } = budgetLevel(forecast, budget.amountMicros);
    const detail = invoice.forecastDetail;
    statuses.push({
      name: budget.name,
      scope: 'label' in budget.scope ? `${budget.scope.label}=${budget.scope.value}` : `machine=${budget.scope.machine}`,
      period: period.label,
      currency: invoice.currency,
      budget: formatMicros(budget.amountMicros),
      actual: formatMicros(actual),
      forecast: formatMicros(forecast),
      forecastPercent: percent(forecast, budget.amountMicros),
      actualPercent: percent(actual, budget.amountMicros),
      level,
      passed,
      forecastLower: line?.forecastLower ?? null,
      forecastUpper: line?.forecastUpper ?? null,
      shortHistory: detail?.shortHistory ?? false,
      forecastNote: detail?.note ?? 'the period has ended: the actual cost',
    });
  }
  return statuses;
}
