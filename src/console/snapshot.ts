// What the console shows, as plain data: one ConsoleSnapshot is built from the three stores a few
// times a second and handed to the components, which only render it. A snapshot's arrays are never
// changed after it is handed out, but its fleet rows are brought up to date in place (each under a
// new version) and a new array is built whenever one changed. Also the pure functions that turn a
// snapshot plus the UI state (filter, sort) into the rows a pane shows.
import type { LagStatus } from './lag-status.js';
import { STATUS_RANK } from './lag-status.js';
import type { Coverage, DayCost, HistoryPoint } from './history.js';
import type { HistoryRange } from './ui-state.js';

export type BrokerState = 'connecting' | 'connected' | 'reconnecting';

export interface MachineRow {
  machine: string;
  /**
   * Changes whenever the row is brought up to date in place (the snapshot builder's rows are, to
   * spare the collector a new object per sample); absent for rows that are never changed in place.
   */
  readonly version?: number;
  labels: Record<string, string>;
  /** CPU busy % of the machine's cores in its latest sample; null when not seen on the live tail. */
  cpu: number | null;
  /** Memory used % in its latest sample. */
  mem: number | null;
  /** CPU % of the last SPARK_POINTS samples, oldest first: the sparkline. */
  cpuHistory: readonly number[];
  cores: number | null;
  memTotalBytes: number | null;
  /** End of the machine's latest sample (epoch ms), from the live tail or the ledger. */
  lastSeen: number | null;
  /** Not heard from for 3 sample intervals. */
  stale: boolean;
  /** Decimal strings in the ledger's currency; null while the ledger is not readable. */
  costPerHour: string | null;
  periodCost: string | null;
  /** Period cost at the period's end if it keeps its current cost per hour. */
  forecast: string | null;
}

/** Samples a sparkline can show (the fleet pane's trend column is at most this wide). */
export const SPARK_POINTS = 24;

/** The detail view's history of one machine: the range's points, and the period's coverage and cost per day. */
export interface DetailHistory {
  machine: string;
  range: HistoryRange;
  /** The chart's time span and resolution (null: one point per sample window). */
  from: number;
  to: number;
  stepMs: number | null;
  /**
   * ok: from the HistorySource, extended by the live tail; loading or error: the source has not
   * answered (yet); tail-only: the console has no HistorySource, so only what the tail saw.
   */
  state: 'ok' | 'loading' | 'error' | 'tail-only';
  message?: string;
  /** Oldest first. */
  points: readonly HistoryPoint[];
  coverage: Coverage | null;
  costPerDay: readonly DayCost[] | null;
}

export interface CostLine {
  key: string;
  cpuCoreHours: number;
  memGiBHours: number;
  cpuCost: string;
  memCost: string;
  total: string;
}

export interface CostView {
  /** "machine" or "label:KEY". */
  by: string;
  currency: string;
  from: number;
  to: number;
  lines: readonly CostLine[];
  total: string;
  forecast: string | null;
}

export interface LagPartitionRow {
  topic: string;
  partition: number;
  committed: number | null;
  end: number;
  lag: number | null;
  status: LagStatus;
  reason: string;
  consumeRate: number | null;
  catchUpSeconds: number | null;
  /** Client id of the member that owns the partition, if any. */
  owner: string | null;
}

export interface GroupMemberRow {
  memberId: string;
  clientId: string;
  host: string;
  partitions: readonly number[];
}

export interface LagView {
  state: 'loading' | 'ok' | 'error';
  message?: string;
  /** Consumer group state from the broker: Stable, Empty, PreparingRebalance, Dead, ... */
  groupState: string;
  partitions: readonly LagPartitionRow[];
  members: readonly GroupMemberRow[];
  totalLag: number;
  status: LagStatus;
  /** When the offsets were last read. */
  polledAt: number | null;
}

export interface LedgerView {
  state: 'loading' | 'ok' | 'missing' | 'locked' | 'error';
  /** What is wrong and what to do, for the panes that need the ledger. */
  message?: string;
  path: string;
  polledAt: number | null;
  /** Kafka offsets the ledger will never bill: deleted by retention, passed over by a reset (for a warning). */
  unbilledOffsets?: UnbilledOffsets;
}

export interface FleetTotals {
  currency: string;
  /** Sum of every machine's current cost per hour. */
  costPerHour: string | null;
  /** Period-to-date cost of the whole fleet, and the period's forecast. */
  periodCost: string | null;
  forecast: string | null;
  /** The forecast's interval (nominal `forecastLevel`%), null while history is too short for one. */
  forecastLower: string | null;
  forecastUpper: string | null;
  forecastLevel: number | null;
  /** The forecast extrapolates less than a day of history (a flagged run-rate): said beside it. */
  forecastShortHistory: boolean;
  periodFrom: number | null;
  periodTo: number | null;
  /** Priced with the console's --rates card instead of the ledger's price versions. */
  whatIf: boolean;
}

/**
 * Whether the console's rate card makes its prices a what-if: a card given with --rates is one;
 * without it the console holds the defaults and prices with the ledger's price versions.
 */
export function pricesAreWhatIf(rateCard: { source: string }): boolean {
  return rateCard.source !== 'defaults';
}

/** The fleet's totals before the ledger has been read. */
export function emptyFleetTotals(currency: string, whatIf = false): FleetTotals {
  return {
    currency,
    costPerHour: null,
    periodCost: null,
    forecast: null,
    forecastLower: null,
    forecastUpper: null,
    forecastLevel: null,
    forecastShortHistory: false,
    periodFrom: null,
    periodTo: null,
    whatIf,
  };
}

/** A budget's state for the period (src/billing/budgets.ts): forecast against the budget. */
export interface BudgetRow {
  name: string;
  scope: string;
  budget: string;
  actual: string;
  forecast: string;
  forecastPercent: number;
  level: 'ok' | 'warn' | 'over';
}

/** A process of `meter up` that died: shown in the header with where its log is. */
export interface PipelineProblem {
  name: string;
  state: 'restarted' | 'failed';
  lastExit?: string;
  logFile: string;
}

export interface ConsoleSnapshot {
  now: number;
  topic: string;
  group: string;
  intervalMs: number;
  broker: { state: BrokerState; since: number | null; message?: string };
  machines: readonly MachineRow[];
  fleet: FleetTotals;
  costs: CostView | null;
  ledger: LedgerView;
  lag: LagView;
  /** Label keys seen on any machine, sorted: the cost pane can group by each. */
  labelKeys: readonly string[];
  /** Live tail throughput, samples per second. */
  tailRate: number | null;
  /** Where the live samples come from: the ledger's accepted ones or every message of the topic. */
  liveFrom: 'ledger' | 'topic';
  /** History of the machine the detail view shows (the UI says which), else null. */
  detail: DetailHistory | null;
  /** The rate card's budgets, if it has any. */
  budgets: readonly BudgetRow[];
  /** Under `meter up`: its processes that died. */
  pipeline: readonly PipelineProblem[];
}

export function emptySnapshot(partial: Partial<ConsoleSnapshot> = {}): ConsoleSnapshot {
  return {
    now: Date.now(),
    topic: 'resource_usage',
    group: 'billing',
    intervalMs: 5000,
    broker: { state: 'connecting', since: null },
    machines: [],
    fleet: emptyFleetTotals('USD'),
    costs: null,
    ledger: { state: 'loading', path: '', polledAt: null },
    lag: { state: 'loading', groupState: 'Unknown', partitions: [], members: [], totalLag: 0, status: 'OK', polledAt: null },
    labelKeys: [],
    tailRate: null,
    liveFrom: 'topic',
    detail: null,
    budgets: [],
    pipeline: [],
    ...partial,
  };
}

// ---- rows a pane shows, from a snapshot and the UI's filter and sort ----

/** Filter text matches a machine's name, a label value or "key=value", case-insensitively. */
export function matchesFilter(machine: string, labels: Record<string, string>, filter: string): boolean {
  if (!filter) return true;
  const needle = filter.toLowerCase();
  if (machine.toLowerCase().includes(needle)) return true;
  for (const [k, v] of Object.entries(labels)) {
    if (`${k}=${v}`.toLowerCase().includes(needle)) return true;
  }
  return false;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A row's number for sorting: unknown (null, NaN) sorts last. */
export const sortNumber = (v: number | null): number => (v === null || Number.isNaN(v) ? -Infinity : v);

/**
 * The fleet's and cost lines' order: biggest number first, ties by name A to Z; direction -1 flips it all.
 * It answers -1, 0 or 1, never the difference: Array.prototype.sort boxes a fractional result into a
 * new heap number, one per comparison (a twentieth of the console's garbage at 10,000 machines).
 * Unknowns (-Infinity from sortNumber) are neither above nor below each other: by name.
 */
export function compareSorted(valueA: number, nameA: string, valueB: number, nameB: string, direction: 1 | -1): number {
  if (valueB > valueA) return direction;
  if (valueB < valueA) return -direction;
  return direction === 1 ? byName(nameA, nameB) : byName(nameB, nameA); // not 0 * -1: -0 is a heap number too
}

/**
 * Rows in compareSorted()'s order by sortNumber(numberOf(row)) (`numberOf: null`: by name alone).
 * Each row's number is read once (decorate, sort, undecorate): a big fleet is sorted on every frame,
 * and reading decimal strings inside the comparison would dominate.
 */
function sortRows<T>(rows: readonly T[], nameOf: (row: T) => string, numberOf: ((row: T) => number | null) | null, reverse: boolean): T[] {
  const n = rows.length;
  const names = new Array<string>(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    names[i] = nameOf(rows[i]!);
    values[i] = sortNumber(numberOf ? numberOf(rows[i]!) : null);
  }
  const direction = reverse ? -1 : 1;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => compareSorted(values[i]!, names[i]!, values[j]!, names[j]!, direction));
  return order.map((i) => rows[i]!);
}

const decimal = (v: string | null): number | null => (v === null ? null : Number(v));

/** The number a fleet sort key orders rows by (biggest first); null: by name. */
export function fleetSortValue(key: string): ((m: MachineRow) => number | null) | null {
  switch (key) {
    case 'cpu':
      return (m) => m.cpu;
    case 'mem':
      return (m) => m.mem;
    case 'costPerHour':
      return (m) => decimal(m.costPerHour);
    case 'periodCost':
      return (m) => decimal(m.periodCost);
    case 'lastSeen':
      return (m) => m.lastSeen;
    default:
      return null;
  }
}

export function fleetRows(
  machines: readonly MachineRow[],
  filter: string,
  sort: { key: string; reverse: boolean },
): MachineRow[] {
  const rows = filter ? machines.filter((m) => matchesFilter(m.machine, m.labels, filter)) : machines;
  // Numbers sort biggest first (what an operator looks for); names A to Z; S reverses either.
  return sortRows(rows, (m) => m.machine, fleetSortValue(sort.key), sort.reverse);
}

export function costRows(
  costs: CostView | null,
  machines: readonly MachineRow[],
  filter: string,
  sort: { key: string; reverse: boolean },
): CostLine[] {
  if (!costs) return [];
  let lines: readonly CostLine[] = costs.lines;
  if (filter) {
    if (costs.by === 'machine') {
      const labels = new Map(machines.map((m) => [m.machine, m.labels]));
      lines = lines.filter((l) => matchesFilter(l.key, labels.get(l.key) ?? {}, filter));
    } else {
      lines = lines.filter((l) => l.key.toLowerCase().includes(filter.toLowerCase()));
    }
  }
  let value: ((l: CostLine) => number | null) | null;
  switch (sort.key) {
    case 'cpu':
      value = (l) => l.cpuCoreHours;
      break;
    case 'mem':
      value = (l) => l.memGiBHours;
      break;
    case 'key':
      value = null;
      break;
    default:
      value = (l) => Number(l.total);
  }
  return sortRows(lines, (l) => l.key, value, sort.reverse);
}

export function lagRows(lag: LagView, sort: { key: string; reverse: boolean }): LagPartitionRow[] {
  const rows = lag.partitions.slice();
  let compare: (a: LagPartitionRow, b: LagPartitionRow) => number;
  switch (sort.key) {
    case 'lag':
      compare = (a, b) => (b.lag ?? -Infinity) - (a.lag ?? -Infinity);
      break;
    case 'status':
      compare = (a, b) => STATUS_RANK[b.status] - STATUS_RANK[a.status];
      break;
    default:
      compare = () => 0;
  }
  const direction = sort.reverse ? -1 : 1;
  rows.sort((a, b) => {
    const c = compare(a, b);
    return (c === 0 || Number.isNaN(c) ? a.partition - b.partition : c) * direction;
  });
  return rows;
}

/** Where the console's React tree gets its snapshots from (for useSyncExternalStore). */
export interface SnapshotSource {
  getSnapshot(): ConsoleSnapshot;
  subscribe(listener: () => void): () => void;
}

/** A source that never changes: for tests and for the one-shot plain snapshot. */
export function staticSource(snapshot: ConsoleSnapshot): SnapshotSource {
  return { getSnapshot: () => snapshot, subscribe: () => () => {} };
}

/** Kafka offsets the ledger says it will never bill (lost to retention, skipped by a reset). */
export type UnbilledOffsets = { lost: number; skipped: number };
export const unbilledTotal = (u: UnbilledOffsets | undefined): number => (u ? u.lost + u.skipped : 0);
