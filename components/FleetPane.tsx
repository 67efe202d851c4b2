// Fleet pane: one row per machine with a CPU sparkline, CPU and memory %, cost per hour, period
// cost and when it was last heard from. Stale rows (silent for 3 intervals) say "stale" and are muted.
// On narrow terminals the labels go first, then the period cost, then the sparkline.
import { useMemo } from 'react';
import { Table, type TableColumn } from './Table.js';
import type { MachineRow } from '../src/console/snapshot.js';
import { ago, money, percent, sparkGlyphs, sparkLevels } from '../src/console/format.js';

export interface FleetPaneProps {
  rows: readonly MachineRow[];
  currency: string;
  now: number;
  width: number;
  height: number;
  selected: number;
  scroll: number;
  active?: boolean;
  /** Shown when there are no rows. */
  empty?: string;
}

const labelsText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => k !== 'simulated')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function fleetColumns(currency: string, now: number): TableColumn<MachineRow>[] {
  return [
    { id: 'name', header: 'MACHINE', cell: (r) => r.machine, shrink: true, minWidth: 10, softWidth: 16, maxWidth: 40 },
    { id: 'spark', header: 'CPU TREND', cell: (r, w) => sparkLevels(r.cpuHistory, w), glyphs: sparkGlyphs, flex: true, minWidth: 8, maxWidth: 24, drop: 1, tone: () => 'accent' },
    { id: 'cpu', header: 'CPU', align: 'right', width: 4, cell: (r) => percent(r.cpu) },
    { id: 'mem', header: 'MEM', align: 'right', width: 4, cell: (r) => percent(r.mem) },
    { id: 'rate', header: 'COST/H', align: 'right', cell: (r) => money(r.costPerHour, currency) },
    { id: 'period', header: 'PERIOD', align: 'right', cell: (r) => money(r.periodCost, currency), drop: 2 },
    { id: 'seen', header: 'SEEN', align: 'right', width: 7, cell: (r) => ago(r.lastSeen, now) },
    { id: 'stale', header: '', width: 5, cell: (r) => (r.stale ? 'stale' : ''), tone: (r) => (r.stale ? 'warn' : undefined) },
    { id: 'labels', header: 'LABELS', cell: (r) => labelsText(r.labels), drop: 3, shrink: true, minWidth: 16, maxWidth: 48 },
  ];
}

export function FleetPane({ rows, currency, now, width, height, selected, scroll, active = true, empty }: FleetPaneProps) {
  const columns = useMemo(() => fleetColumns(currency, now), [currency, now]);
  return (
    <Table
      columns={columns}
      rows={rows}
      rowKey={(r) => r.machine}
      width={width}
      height={height}
      selected={selected}
      scroll={scroll}
      active={active}
      rowTone={(r) => (r.stale ? 'muted' : undefined)}
      empty={empty ?? 'no machines yet: waiting for samples on the topic and for the ledger'}
    />
  );
}
