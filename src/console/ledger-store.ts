// The ledger's read model for the console: opened read-only and polled. Per machine, its cost per
// hour, period cost and forecast; the cost pane's lines by machine or by a label; the fleet's totals.
// A missing or locked ledger is a message in the panes that need it, and polling goes on; the live
// tail and the lag pane do not depend on it.
import { LedgerLockedError, LedgerNotFoundError, LedgerUnavailableError, ledgerErrorOf } from '../ledger/index.js';
import { LedgerConnection } from './ledger-connection.js';
import {
  billingPeriod,
  budgetsInForce,
  computeInvoice,
  evaluateBudgets,
  formatMicros,
  machineSummaries,
  parseDecimal,
  type Invoice,
  type InvoiceForecast,
  type InvoiceGrouping,
  type MachineSummary,
  type RateCard,
} from '../billing/index.js';
import { errorMessage } from '../cli/errors.js';
import { emptyFleetTotals, pricesAreWhatIf, type BudgetRow, type CostView, type FleetTotals, type LedgerView } from './snapshot.js';

export interface LedgerStoreOptions {
  path: string;
  /**
   * The console's --rates card. Prices come from the ledger's price versions; a card given with
   * --rates is a what-if (`whatIf` says so; by default, any card but the defaults is one).
   */
  rateCard: RateCard;
  whatIf?: boolean;
  pollMs: number;
  /** "machine" or "label:KEY". */
  costBy: string;
  /** Window for each machine's cost per hour (the billing module's default: 1 h). */
  runRateWindowMs?: number;
  onChange?: () => void;
  now?: () => number;
  /** The read-only ledger, when shared with the history; else the store opens its own. */
  connection?: LedgerConnection;
}

/**
 * The ledger's read model as the console's data side sees it: LedgerStore computes it in-process
 * (--once, tests); LedgerReader (ledger-reader.ts) runs a LedgerStore on a thread of its own and
 * mirrors it, so a slow read never holds up a frame or a key.
 */
export interface LedgerSource {
  readonly view: LedgerView;
  readonly machines: ReadonlyMap<string, MachineCost>;
  readonly costs: CostView | null;
  readonly fleet: FleetTotals;
  readonly budgets: readonly BudgetRow[];
  /** How long the last poll took, ms (the benchmark reports it). */
  readonly lastPollMs: number;
  start(): void;
  /** Changes the cost pane's grouping and recomputes now. */
  setCostBy(by: string): Promise<void>;
  stop(): void;
  /**
   * The machines whose costs changed since the last call, when the source keeps count (then
   * `machines` is updated in place); without it, a new `machines` map means every machine changed.
   */
  drainChanged?(): ReadonlySet<string>;
}

export interface MachineCost {
  machine: string;
  labels: Record<string, string>;
  lastSeen: number;
  costPerHour: string;
  periodCost: string;
  forecast: string | null;
  /** The forecast's interval (nominal 80%), when history allows one. */
  forecastLower?: string | null;
  forecastUpper?: string | null;
}

export function grouping(by: string): InvoiceGrouping {
  return by.startsWith('label:') ? { label: by.slice('label:'.length) } : 'machine';
}

/** Sums decimal strings exactly (micro-units). */
export function sumDecimals(values: Iterable<string>): string {
  let micros = 0n;
  for (const v of values) micros += parseDecimal(v, 6) ?? 0n;
  return formatMicros(micros);
}

function costView(invoice: Invoice, by: string, from: number, to: number): CostView {
  return {
    by,
    currency: invoice.currency,
    from,
    to,
    lines: invoice.lines.map((l) => ({
      key: l.key,
      cpuCoreHours: Number(l.cpuCoreHours),
      memGiBHours: Number(l.memGiBHours),
      cpuCost: l.cpuCost,
      memCost: l.memCost,
      total: l.total,
    })),
    total: invoice.total,
    forecast: invoice.forecast ?? null,
  };
}

/** What is wrong with the ledger, in words an operator can act on: told apart by the ledger's error classes. */
export function describeLedgerError(error: unknown, path: string): Pick<LedgerView, 'state' | 'message'> {
  const typed = ledgerErrorOf(error, path);
  if (typed instanceof LedgerNotFoundError) {
    return { state: 'missing', message: `no ledger at ${path} yet: start \`meter worker\` or pass --ledger; costs appear when it exists` };
  }
  if (typed instanceof LedgerLockedError) {
    return { state: 'locked', message: `the ledger ${path} is locked by another process; retrying` };
  }
  const text = errorMessage(typed).split('\n')[0]!;
  return { state: 'error', message: typed instanceof LedgerUnavailableError || /^ledger\b/i.test(text) ? text : `ledger: ${text}` };
}

export class LedgerStore implements LedgerSource {
  view: LedgerView;
  machines = new Map<string, MachineCost>();
  costs: CostView | null = null;
  fleet: FleetTotals;
  /** The rate card's budgets against this period's forecast. */
  budgets: BudgetRow[] = [];
  /** The fleet's forecast for the period: method, interval and short-history flags (null before the first poll). */
  forecast: InvoiceForecast | null = null;
  /** Whether costs are priced with the --rates card (a what-if) rather than the ledger's prices. */
  readonly whatIf: boolean;
  /** How long the last poll took, ms (the benchmark reports it). */
  lastPollMs = 0;
  private readonly connection: LedgerConnection;
  private readonly ownConnection: boolean;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private costBy: string;
  private readonly now: () => number;

  constructor(private readonly options: LedgerStoreOptions) {
    this.now = options.now ?? Date.now;
    this.costBy = options.costBy;
    this.ownConnection = !options.connection;
    this.connection = options.connection ?? new LedgerConnection(options.path);
    this.whatIf = options.whatIf ?? pricesAreWhatIf(options.rateCard);
    this.view = { state: 'loading', path: options.path, polledAt: null };
    this.fleet = emptyFleetTotals(options.rateCard.currency, this.whatIf);
  }

  start(): void {
    this.stopped = false;
    const loop = async () => {
      if (this.stopped) return;
      await this.poll();
      if (this.stopped) return;
      // A big ledger takes longer to read: then it is read less often, so that reading it stays
      // under ~0.35% of the time (100 ms to read means every 30 s; 10,000 machines, ~0.7 s, every
      // 3.5 min). The cost columns move slowly (cost per hour is over the last hour); the screen's
      // CPU budget is 3% of a core.
      this.timer = setTimeout(() => void loop(), Math.max(this.options.pollMs, 300 * this.lastPollMs));
      this.timer.unref?.();
    };
    void loop();
  }

  /** Changes the cost pane's grouping and recomputes now. */
  setCostBy(by: string): Promise<void> {
    if (by === this.costBy) return Promise.resolve();
    this.costBy = by;
    return this.view.state === 'ok' ? this.poll() : Promise.resolve();
  }

  private polling?: Promise<void>;

  /** Reads everything once; a poll asked for while one runs waits for it instead. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => (this.polling = undefined));
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const started = performance.now();
    const now = this.now();
    const { path, rateCard } = this.options;
    try {
      const ledger = await this.connection.get();
      const period = billingPeriod(now);
      const whatIf = this.whatIf ? rateCard : undefined;
      const byMachine = await computeInvoice(ledger, { from: period.from, to: period.to, by: 'machine', whatIf, now, digest: false });
      const summaries: MachineSummary[] = await machineSummaries(ledger, { now, whatIf, invoice: byMachine });
      const forecasts = new Map(byMachine.lines.map((l) => [l.key, l]));
      const machines = new Map<string, MachineCost>();
      for (const s of summaries) {
        machines.set(s.machine, {
          machine: s.machine,
          labels: s.labels,
          lastSeen: s.lastSeen,
          costPerHour: s.costPerHour,
          periodCost: s.periodCost,
          forecast: forecasts.get(s.machine)?.forecast ?? null,
          forecastLower: forecasts.get(s.machine)?.forecastLower ?? null,
          forecastUpper: forecasts.get(s.machine)?.forecastUpper ?? null,
        });
      }
      const by = this.costBy;
      const invoice = by === 'machine' ? byMachine : await computeInvoice(ledger, { from: period.from, to: period.to, by: grouping(by), whatIf, now, digest: false });
      this.machines = machines;
      this.costs = costView(invoice, by, period.from, period.to);
      const forecast = byMachine.forecastDetail ?? null;
      this.fleet = {
        currency: byMachine.currency,
        costPerHour: sumDecimals(summaries.map((s) => s.costPerHour)),
        periodCost: byMachine.total,
        forecast: byMachine.forecast ?? null,
        forecastLower: forecast?.lower ?? null,
        forecastUpper: forecast?.upper ?? null,
        forecastLevel: forecast?.level ?? null,
        forecastShortHistory: forecast?.shortHistory ?? false,
        periodFrom: period.from,
        periodTo: period.to,
        whatIf: this.whatIf,
      };
      this.forecast = forecast;
      // Worst first, so the cost pane never cuts off the budget that needs attention.
      // The what-if card's budgets, else those stored with the price version in force (as `meter budgets`).
      const budgets = whatIf ? (rateCard.budgets ?? []) : (await budgetsInForce(ledger, now)).budgets;
      this.budgets = budgets.length
        ? (await evaluateBudgets(ledger, { budgets, now, whatIf, invoices: new Map([['machine', byMachine], [by, invoice]]) })).sort((a, b) => b.forecastPercent - a.forecastPercent)
        : [];
      const { lost, skipped } = await ledger.counts();
      this.view = { state: 'ok', path, polledAt: now, unbilledOffsets: { lost, skipped } };
    } catch (error) {
      const problem = describeLedgerError(error, path);
      this.view = { ...problem, path, polledAt: this.view.polledAt };
      if (problem.state !== 'locked') {
        // Missing or broken: open afresh next time (it may have been created or replaced).
        this.connection.reset();
      }
    }
    this.lastPollMs = performance.now() - started;
    this.options.onChange?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ownConnection) void this.connection.close();
  }
}
