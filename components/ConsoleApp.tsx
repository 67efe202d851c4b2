// The console's root: takes snapshots from a source, holds the UI state, reads the keys (the only
// place that does), lays the screen out for the terminal's size and hands each pane its rows.
// The frame is exactly one line shorter than the terminal: ink then redraws in place instead of
// clearing the screen, and nothing ever scrolls.
import { useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { Header, headerRows } from './Header.js';
import { TabBar } from './TabBar.js';
import { FleetPane } from './FleetPane.js';
import { CostPane, budgetBlockRows } from './CostPane.js';
import { LagPane } from './LagPane.js';
import { DetailView, detailChartColumns } from './DetailView.js';
import type { DetailRequest } from '../src/console/history-store.js';
import { HelpOverlay } from './HelpOverlay.js';
import { StatusLine } from './StatusLine.js';
import { ThemeProvider, makeTheme, type Theme } from './Theme.js';
import { UiActionsContext, UiStateContext, type UiActions } from './UiContexts.js';
import { costRows, lagRows, type ConsoleSnapshot, type SnapshotSource } from '../src/console/snapshot.js';
import { initialUiState, reduceUi, resolveCursor, rowKeys, SORT_LABELS, type PaneId, type UiState, type ViewContext } from '../src/console/ui-state.js';
import { actionForKey, splitKeys, type KeyPress } from '../src/console/keys.js';
import { FleetOrder } from '../src/console/fleet-order.js';

export interface ConsoleAppProps {
  source: SnapshotSource;
  /** No keyboard (stdin is not a terminal): render only, and say how to get keys. */
  readOnly?: boolean;
  /** The terminal's size; by default read from stdout and followed on resize. */
  size?: { columns: number; rows: number };
  theme?: Theme;
  initialUi?: Partial<UiState>;
  /** The cost pane's grouping changed ("machine" or "label:KEY"): the ledger store computes it. */
  onCostByChange?: (by: string) => void;
  /** The detail view opened on a machine, changed range or width, or closed (null): the data side reads its history. */
  onDetailChange?: (request: DetailRequest | null) => void;
  /** The fleet pane shows these machines now: the data side fills their sparklines from history. */
  onVisibleMachines?: (machines: readonly string[]) => void;
  /** The data side's fleet order (it places changed rows between frames), told the order on screen. */
  fleetOrder?: FleetOrder;
  onFleetOrderChange?: (filter: string, sort: { key: string; reverse: boolean }) => void;
  onQuit?: () => void;
}

/** The terminal's size, following resizes. */
function useTerminalSize(override?: { columns: number; rows: number }): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (override) return;
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, override]);
  return override ?? size;
}

const NUMERIC_DEFAULT_DESC = new Set(['cpu', 'mem', 'costPerHour', 'periodCost', 'lastSeen', 'cost', 'lag', 'status']);
function sortText(sort: { key: string; reverse: boolean }): string {
  const descending = NUMERIC_DEFAULT_DESC.has(sort.key) !== sort.reverse;
  return `sort ${SORT_LABELS[sort.key] ?? sort.key} ${descending ? '↓' : '↑'}`;
}

/** Screen regions for a terminal of `rows` lines. */
export function consoleLayout(rows: number, options: { split: boolean; lagNeeded: number; headerRows?: number }) {
  const frame = Math.max(1, rows - 1);
  const body = Math.max(0, frame - (options.headerRows ?? 2) - 2); // header, tabs 1, status 1
  let lag = 0;
  if (options.split) lag = Math.min(options.lagNeeded, Math.floor(body / 3));
  return { frame, body, main: body - (lag > 0 ? lag + 1 : 0), lag };
}

export function ConsoleApp({ source, readOnly = false, size, theme, initialUi, onCostByChange, onDetailChange, onVisibleMachines, fleetOrder: sharedOrder, onFleetOrderChange, onQuit }: ConsoleAppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize(size);
  const live = useSyncExternalStore(source.subscribe, source.getSnapshot, source.getSnapshot);
  const [ui, setUi] = useState<UiState>(() => ({ ...initialUiState(), ...initialUi }));

  // Pause freezes what is shown; the stores keep collecting underneath.
  const frozen = useRef<ConsoleSnapshot>(live);
  if (!ui.paused) frozen.current = live;
  const snapshot = ui.paused ? frozen.current : live;

  // The order is kept between frames: only rows that changed are placed again (src/console/fleet-order.ts).
  // The data side's when it keeps one (it places a burst's rows between frames), else this screen's own.
  const ownOrder = useRef<FleetOrder | null>(null);
  const fleetOrder = sharedOrder ?? (ownOrder.current ??= new FleetOrder());
  const fleet = useMemo(() => fleetOrder.rows(snapshot.machines, ui.filter, ui.sort.fleet), [fleetOrder, snapshot.machines, ui.filter, ui.sort.fleet]);
  useEffect(() => {
    onFleetOrderChange?.(ui.filter, ui.sort.fleet);
  }, [ui.filter, ui.sort.fleet]);
  // The machines matter to the cost lines only for filtering by label: otherwise they are left out of
  // the dependencies, so a new tail sample does not re-sort the cost lines.
  const filterMachines = ui.filter && snapshot.costs?.by === 'machine' ? snapshot.machines : null;
  const cost = useMemo(() => costRows(snapshot.costs, filterMachines ?? [], ui.filter, ui.sort.cost), [snapshot.costs, filterMachines, ui.filter, ui.sort.cost]);
  const lag = useMemo(() => lagRows(snapshot.lag, ui.sort.lag), [snapshot.lag, ui.sort.lag]);

  const split = rows >= 30 && ui.detail === null && !ui.help && ui.pane !== 'lag';
  const layout = consoleLayout(rows, { split, lagNeeded: 1 + lag.length + 1 + Math.max(1, snapshot.lag.members.length) + 1, headerRows: headerRows(snapshot) });
  const tooSmall = columns < 40 || rows < 8;

  // Page sizes: a pane's table height minus its header (and the cost/lag summary line).
  const pageSize: Record<PaneId, number> = {
    fleet: Math.max(1, layout.main - 1),
    cost: Math.max(1, layout.main - 2 - budgetBlockRows(snapshot.budgets.length, layout.main)),
    lag: Math.max(1, Math.min(lag.length, layout.main - 2)),
  };
  const fleetKeys = useMemo(() => rowKeys(fleet, (r) => r.machine), [fleet]);
  const costKeys = useMemo(() => rowKeys(cost, (l) => l.key), [cost]);
  const lagKeys = useMemo(() => rowKeys(lag, (r) => `${r.topic}:${r.partition}`), [lag]);
  const keys = useMemo(() => ({ fleet: fleetKeys, cost: costKeys, lag: lagKeys }), [fleetKeys, costKeys, lagKeys]);
  const view = useRef<ViewContext>({ rowKeys: keys, pageSize, labelKeys: snapshot.labelKeys });
  view.current = { rowKeys: keys, pageSize, labelKeys: snapshot.labelKeys };

  // The latest UI state, for the key handler: it computes the next state itself, so that quitting and
  // a new cost grouping reach the outside at once, not after the next render.
  const uiRef = useRef(ui);
  uiRef.current = ui;
  const apply = (next: UiState) => {
    const previous = uiRef.current;
    if (next === previous) return;
    uiRef.current = next;
    setUi(next);
    if (next.costBy !== previous.costBy) onCostByChange?.(next.costBy);
    if (next.detail !== previous.detail || (next.detail !== null && next.historyRange !== previous.historyRange)) {
      onDetailChange?.(next.detail === null ? null : { machine: next.detail, range: next.historyRange, chartColumns: chartColumnsRef.current });
    }
    if (next.quit && !previous.quit) {
      onQuit?.();
      exit();
    }
  };
  const actions = useMemo<UiActions>(() => ({ dispatch: (action) => apply(reduceUi(uiRef.current, action, view.current)) }), []);

  // The one place that reads keys.
  useInput(
    (input, key) => {
      let s = uiRef.current;
      // While the filter is typed, a pasted string is filter text; otherwise each key counts.
      const presses: Array<[string, KeyPress]> = s.filterEditing && !key.return && !key.escape ? [[input, key]] : splitKeys(input, key);
      for (const [i, k] of presses) {
        const action = actionForKey(i, k, s);
        if (action) s = reduceUi(s, action, view.current);
      }
      apply(s);
    },
    { isActive: !readOnly },
  );

  // The data side reads the detail view's history for its machine, range and chart width.
  // (At once from a key press, in apply(); here when the terminal's width changes the chart's.)
  const chartColumns = detailChartColumns(columns);
  const chartColumnsRef = useRef(chartColumns);
  useEffect(() => {
    if (chartColumnsRef.current === chartColumns) return;
    chartColumnsRef.current = chartColumns;
    const current = uiRef.current;
    if (current.detail !== null) onDetailChange?.({ machine: current.detail, range: current.historyRange, chartColumns });
  }, [chartColumns]);

  const activeTheme = useMemo(() => theme ?? makeTheme(true), [theme]);
  const at = (pane: PaneId) => resolveCursor(ui.cursors[pane], keys[pane], pageSize[pane]);

  // The machines on screen, for their sparklines' history (told when the set changes, not every frame).
  const fleetView = at('fleet');
  const visibleKey = fleet
    .slice(fleetView.scroll, fleetView.scroll + pageSize.fleet)
    .map((r) => r.machine)
    .join('\n');
  useEffect(() => {
    if (visibleKey) onVisibleMachines?.(visibleKey.split('\n'));
  }, [visibleKey]);

  let info = '';
  if (ui.pane === 'fleet') {
    const stale = fleet.reduce((n, m) => n + (m.stale ? 1 : 0), 0);
    info = `${fleet.length === snapshot.machines.length ? fleet.length : `${fleet.length} of ${snapshot.machines.length}`} machines${stale ? ` · ${stale} stale` : ''} · ${sortText(ui.sort.fleet)}`;
  } else if (ui.pane === 'cost') info = `${cost.length} lines · ${sortText(ui.sort.cost)} · b: by machine/label`;
  else info = `topic ${snapshot.topic} · ${lag.length} partitions · ${sortText(ui.sort.lag)}`;
  if (ui.filter && ui.pane !== 'lag') info += ` · filter "${ui.filter}"`;
  if (ui.detail !== null) info = `detail · ${ui.detail}`;

  let body: ReactNode;
  if (ui.help) {
    body = <HelpOverlay width={columns} height={layout.body} />;
  } else if (ui.detail !== null) {
    body = (
      <DetailView
        name={ui.detail}
        machine={snapshot.machines.find((m) => m.machine === ui.detail)}
        history={snapshot.detail}
        currency={snapshot.fleet.currency}
        now={snapshot.now}
        width={columns}
        height={layout.body}
      />
    );
  } else {
    const fleetAt = at('fleet');
    const costAt = at('cost');
    const lagAt = at('lag');
    const main =
      ui.pane === 'fleet' ? (
        <FleetPane rows={fleet} currency={snapshot.fleet.currency} now={snapshot.now} width={columns} height={layout.main} selected={fleetAt.index} scroll={fleetAt.scroll} />
      ) : ui.pane === 'cost' ? (
        <CostPane costs={snapshot.costs} lines={cost} ledger={snapshot.ledger} by={ui.costBy} width={columns} height={layout.main} selected={costAt.index} scroll={costAt.scroll} budgets={snapshot.budgets} />
      ) : (
        <LagPane lag={snapshot.lag} rows={lag} group={snapshot.group} width={columns} height={layout.main} selected={lagAt.index} scroll={lagAt.scroll} unbilled={snapshot.ledger.unbilledOffsets} />
      );
    body = (
      <>
        <Box height={layout.main} flexDirection="column" overflowY="hidden">
          {main}
        </Box>
        {layout.lag > 0 ? (
          <>
            <Text wrap="truncate-end" dimColor>
              {'─ Lag (3) ' + '─'.repeat(Math.max(0, columns - 10))}
            </Text>
            <Box height={layout.lag} flexDirection="column" overflowY="hidden">
              <LagPane lag={snapshot.lag} rows={lag} group={snapshot.group} width={columns} height={layout.lag} selected={-1} scroll={0} active={false} unbilled={snapshot.ledger.unbilledOffsets} />
            </Box>
          </>
        ) : null}
      </>
    );
  }

  return (
    <ThemeProvider theme={activeTheme}>
      <UiStateContext.Provider value={ui}>
        <UiActionsContext.Provider value={actions}>
          {tooSmall ? (
            <Box height={layout.frame} width={columns} overflowY="hidden">
              <Text wrap="truncate-end">{`meter console: the terminal is ${columns}x${rows}; it needs at least 40x8 (q quits)`}</Text>
            </Box>
          ) : (
            <Box flexDirection="column" width={columns} height={layout.frame} overflowY="hidden">
              <Header snapshot={snapshot} paused={ui.paused} width={columns} />
              <TabBar pane={ui.pane} info={info} width={columns} />
              <Box flexDirection="column" height={layout.body} overflowY="hidden">
                {body}
              </Box>
              <StatusLine readOnly={readOnly} width={columns} />
            </Box>
          )}
        </UiActionsContext.Provider>
      </UiStateContext.Provider>
    </ThemeProvider>
  );
}
