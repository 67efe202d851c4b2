// The console's UI state and everything that changes it: a pure reducer over actions (keys.ts turns
// key presses into them). React holds the state (components/ConsoleApp.tsx); nothing here knows about
// React or the data stores.
//
// Selection is kept by row key (the machine name, the cost line's key, the partition), not by index,
// so that it stays on the same machine when rows re-sort or new machines arrive. The index and scroll
// offset are re-derived from the current rows on every render by resolveCursor().

export type PaneId = 'fleet' | 'cost' | 'lag';
export const PANES: readonly PaneId[] = ['fleet', 'cost', 'lag'];
export const PANE_TITLES: Record<PaneId, string> = { fleet: 'Fleet', cost: 'Cost', lag: 'Lag' };

export const SORT_KEYS = {
  fleet: ['name', 'cpu', 'mem', 'costPerHour', 'periodCost', 'lastSeen'],
  cost: ['cost', 'key', 'cpu', 'mem'],
  lag: ['partition', 'lag', 'status'],
} as const;
export type FleetSortKey = (typeof SORT_KEYS.fleet)[number];
export type CostSortKey = (typeof SORT_KEYS.cost)[number];
export type LagSortKey = (typeof SORT_KEYS.lag)[number];
export type SortKey<P extends PaneId> = (typeof SORT_KEYS)[P][number];

export const SORT_LABELS: Record<string, string> = {
  name: 'name',
  cpu: 'CPU',
  mem: 'memory',
  costPerHour: 'cost/h',
  periodCost: 'period cost',
  lastSeen: 'last seen',
  cost: 'cost',
  key: 'name',
  partition: 'partition',
  lag: 'lag',
  status: 'status',
};

export interface Cursor {
  /** Key of the selected row; null before anything was selected. */
  key: string | null;
  /** Index of the selection when last resolved: the fallback when the key disappears. */
  index: number;
  /** First visible row. */
  scroll: number;
}

/** The detail view's history ranges, shortest first (`[` and `]` step through them). */
export const HISTORY_RANGES = ['hour', 'day', 'period'] as const;
export type HistoryRange = (typeof HISTORY_RANGES)[number];

export interface UiState {
  pane: PaneId;
  /** What the detail view's charts cover. */
  historyRange: HistoryRange;
  /** The machine shown in the detail view, or null for the panes. */
  detail: string | null;
  help: boolean;
  paused: boolean;
  filter: string;
  filterEditing: boolean;
  sort: { [P in PaneId]: { key: SortKey<P>; reverse: boolean } };
  /** Cost pane grouping: "machine" or "label:KEY". */
  costBy: string;
  cursors: Record<PaneId, Cursor>;
  quit: boolean;
}

export function initialUiState(options: { costBy?: string; pane?: PaneId } = {}): UiState {
  const cursor = (): Cursor => ({ key: null, index: 0, scroll: 0 });
  return {
    pane: options.pane ?? 'fleet',
    historyRange: 'hour',
    detail: null,
    help: false,
    paused: false,
    filter: '',
    filterEditing: false,
    sort: {
      fleet: { key: 'name', reverse: false },
      cost: { key: 'cost', reverse: false },
      lag: { key: 'partition', reverse: false },
    },
    costBy: options.costBy ?? 'machine',
    cursors: { fleet: cursor(), cost: cursor(), lag: cursor() },
    quit: false,
  };
}

export type UiAction =
  | { type: 'move'; delta: number }
  | { type: 'page'; direction: 1 | -1 }
  | { type: 'top' }
  | { type: 'bottom' }
  | { type: 'switchPane'; direction: 1 | -1 }
  | { type: 'showPane'; pane: PaneId }
  | { type: 'openDetail' }
  | { type: 'closeDetail' }
  | { type: 'historyRange'; direction: 1 | -1 }
  | { type: 'startFilter' }
  | { type: 'filterInput'; text: string }
  | { type: 'filterBackspace' }
  | { type: 'filterDone' }
  | { type: 'filterClear' }
  | { type: 'cycleSort' }
  | { type: 'reverseSort' }
  | { type: 'cycleCostBy' }
  | { type: 'togglePause' }
  | { type: 'toggleHelp' }
  | { type: 'quit' };

/** What the reducer needs to know about the screen: the rows each pane shows, in order, and how many fit. */
export interface ViewContext {
  rowKeys: Record<PaneId, RowKeys>;
  pageSize: Record<PaneId, number>;
  /** Label keys seen on machines, for cycling the cost pane's grouping. */
  labelKeys: readonly string[];
}

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

/** A pane's row keys in display order: an array, or a view over the rows (no copy of a big fleet's names per frame). */
export interface RowKeys {
  readonly length: number;
  at(index: number): string | undefined;
  indexOf(key: string): number;
}

/** The keys of `rows`, read when asked. */
export function rowKeys<Row>(rows: readonly Row[], keyOf: (row: Row) => string): RowKeys {
  return {
    length: rows.length,
    at: (index) => {
      const row = rows[index];
      return row === undefined ? undefined : keyOf(row);
    },
    indexOf: (key) => {
      for (let i = 0; i < rows.length; i++) if (keyOf(rows[i]!) === key) return i;
      return -1;
    },
  };
}

/**
 * Where the cursor is on the rows shown now: the selected row's index (following its key), and a
 * scroll offset that keeps it visible and never leaves blank space below the last row.
 */
export function resolveCursor(cursor: Cursor, keys: RowKeys, pageSize: number): { index: number; scroll: number } {
  if (keys.length === 0) return { index: 0, scroll: 0 };
  const found = cursor.key === null ? -1 : keys.indexOf(cursor.key);
  const index = found >= 0 ? found : clamp(cursor.index, 0, keys.length - 1);
  const size = Math.max(1, pageSize);
  let scroll = clamp(cursor.scroll, 0, Math.max(0, keys.length - size));
  if (index < scroll) scroll = index;
  if (index >= scroll + size) scroll = index - size + 1;
  return { index, scroll };
}

function moveTo(cursor: Cursor, keys: RowKeys, pageSize: number, target: (index: number) => number): Cursor {
  if (keys.length === 0) return cursor;
  const { index, scroll } = resolveCursor(cursor, keys, pageSize);
  const next = clamp(target(index), 0, keys.length - 1);
  const key = keys.at(next)!;
  return { ...resolveCursor({ key, index: next, scroll }, keys, pageSize), key };
}

function withCursor(state: UiState, pane: PaneId, cursor: Cursor): UiState {
  return { ...state, cursors: { ...state.cursors, [pane]: cursor } };
}

/** The pane that owns the selection: in the detail view, arrows move through the fleet. */
function activePane(state: UiState): PaneId {
  return state.detail !== null ? 'fleet' : state.pane;
}

export function reduceUi(state: UiState, action: UiAction, view: ViewContext): UiState {
  const pane = activePane(state);
  const keys = view.rowKeys[pane];
  const pageSize = view.pageSize[pane];
  const move = (target: (index: number) => number): UiState => {
    const cursor = moveTo(state.cursors[pane], keys, pageSize, target);
    const next = withCursor(state, pane, cursor);
    return state.detail !== null && cursor.key !== null ? { ...next, detail: cursor.key } : next;
  };
  switch (action.type) {
    case 'move':
      return move((i) => i + action.delta);
    case 'page':
      return move((i) => i + action.direction * Math.max(1, pageSize - 1));
    case 'top':
      return move(() => 0);
    case 'bottom':
      return move(() => keys.length - 1);
    case 'switchPane': {
      if (state.detail !== null) return state;
      const i = PANES.indexOf(state.pane);
      return { ...state, pane: PANES[(i + action.direction + PANES.length) % PANES.length]! };
    }
    case 'showPane':
      return { ...state, pane: action.pane, detail: null };
    case 'openDetail': {
      // Machines have a detail view: any fleet row, and cost rows when the cost pane is by machine.
      if (state.detail !== null) return state;
      if (state.pane !== 'fleet' && !(state.pane === 'cost' && state.costBy === 'machine')) return state;
      if (keys.length === 0) return state;
      const { index } = resolveCursor(state.cursors[state.pane], keys, pageSize);
      const machine = keys.at(index)!;
      // Entering from the cost pane selects the same machine in the fleet, so arrows keep working.
      const fleetKeys = view.rowKeys.fleet;
      const fleetIndex = fleetKeys.indexOf(machine);
      const fleetCursor: Cursor = { ...state.cursors.fleet, key: machine, index: fleetIndex >= 0 ? fleetIndex : state.cursors.fleet.index };
      return { ...withCursor(state, 'fleet', fleetCursor), detail: machine };
    }
    case 'closeDetail':
      return { ...state, detail: null };
    case 'historyRange': {
      const i = HISTORY_RANGES.indexOf(state.historyRange) + action.direction;
      return i < 0 || i >= HISTORY_RANGES.length ? state : { ...state, historyRange: HISTORY_RANGES[i]! };
    }
    case 'startFilter':
      return { ...state, filterEditing: true };
    case 'filterInput':
      return { ...state, filter: state.filter + action.text };
    case 'filterBackspace':
      return { ...state, filter: Array.from(state.filter).slice(0, -1).join('') };
    case 'filterDone':
      return { ...state, filterEditing: false };
    case 'filterClear':
      return { ...state, filter: '', filterEditing: false };
    case 'cycleSort': {
      const p = state.pane;
      const options = SORT_KEYS[p] as readonly string[];
      const current = options.indexOf(state.sort[p].key);
      const key = options[(current + 1) % options.length]!;
      return { ...state, sort: { ...state.sort, [p]: { key, reverse: false } } };
    }
    case 'reverseSort': {
      const p = state.pane;
      return { ...state, sort: { ...state.sort, [p]: { ...state.sort[p], reverse: !state.sort[p].reverse } } };
    }
    case 'cycleCostBy': {
      const options = ['machine', ...view.labelKeys.map((k) => `label:${k}`)];
      const current = options.indexOf(state.costBy);
      const costBy = options[(current + 1) % options.length]!;
      return { ...state, costBy, cursors: { ...state.cursors, cost: { key: null, index: 0, scroll: 0 } } };
    }
    case 'togglePause':
      return { ...state, paused: !state.paused };
    case 'toggleHelp':
      return { ...state, help: !state.help };
    case 'quit':
      return { ...state, quit: true };
  }
}
