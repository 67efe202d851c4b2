// Cost pane: period-to-date totals by machine or by one label, with usage and cost, biggest first.
// When the ledger cannot be read, it says why and what to do; the other panes go on working.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { Table, type TableColumn } from './Table.js';
import { useTheme } from './Theme.js';
import type { BudgetRow, CostLine, CostView, LedgerView } from '../src/console/snapshot.js';
import { money, quantity } from '../src/console/format.js';
import { budgetBar } from '../src/format/index.js';

export interface CostPaneProps {
  costs: CostView | null;
  lines: readonly CostLine[];
  ledger: LedgerView;
  /** The grouping asked for ("machine" or "label:KEY"), shown while the ledger catches up. */
  by: string;
  width: number;
  height: number;
  selected: number;
  scroll: number;
  active?: boolean;
  /** The rate card's budgets, shown as bars above the table. */
  budgets?: readonly BudgetRow[];
}

/** Rows the budget bars take in a cost pane of `height` rows (a title line and one row a budget). */
export function budgetBlockRows(budgets: number, height: number): number {
  if (budgets === 0) return 0;
  return 1 + Math.min(budgets, Math.max(1, Math.floor((height - 2) / 3)));
}


function BudgetBars({ budgets, currency, width, rows }: { budgets: readonly BudgetRow[]; currency: string; width: number; rows: number }) {
  const theme = useTheme();
  // The snapshot lists them worst first, so what needs attention is never the part cut off.
  const shown = budgets.slice(0, rows);
  const nameWidth = Math.min(24, Math.max(6, ...shown.map((b) => b.name.length)));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end" dimColor>
        {`  budgets: forecast for the period against each budget${budgets.length > shown.length ? ` (${shown.length} of ${budgets.length})` : ''}`}
      </Text>
      {shown.map((b) => {
        const mark = b.level === 'over' ? ' OVER' : b.level === 'warn' ? ' >80%' : '';
        const amounts = `${money(b.forecast, currency)} of ${money(b.budget, currency)}`;
        const text = `  ${b.name.slice(0, nameWidth).padEnd(nameWidth)} ${budgetBar(b.forecastPercent)} ${`${b.forecastPercent.toFixed(0)}%`.padStart(4)}  ${amounts}${mark}`;
        return (
          <Text key={b.name} wrap="truncate-end" color={b.level === 'ok' ? undefined : theme.tone(b.level === 'over' ? 'error' : 'warn')} bold={b.level === 'over'}>
            {text}
          </Text>
        );
      })}
    </Box>
  );
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

function costColumns(by: string, currency: string, total: number): TableColumn<CostLine>[] {
  return [
    { id: 'key', header: by === 'machine' ? 'MACHINE' : by.replace(/^label:/, '').toUpperCase(), cell: (l) => l.key || '(none)', shrink: true, minWidth: 10, softWidth: 16, maxWidth: 40 },
    { id: 'cpuh', header: 'CORE-H', align: 'right', cell: (l) => quantity(l.cpuCoreHours) },
    { id: 'memh', header: 'GIB-H', align: 'right', cell: (l) => quantity(l.memGiBHours) },
    { id: 'cpuc', header: 'CPU COST', align: 'right', cell: (l) => money(l.cpuCost, currency), drop: 2 },
    { id: 'memc', header: 'MEM COST', align: 'right', cell: (l) => money(l.memCost, currency), drop: 2 },
    { id: 'total', header: 'TOTAL', align: 'right', cell: (l) => money(l.total, currency), tone: () => 'accent' },
    {
      id: 'share',
      header: 'SHARE',
      align: 'right',
      width: 5,
      cell: (l) => (total > 0 ? `${Math.round((Number(l.total) / total) * 100)}%` : '—'),
      drop: 1,
    },
  ];
}

export function CostPane({ costs, lines, ledger, by, width, height, selected, scroll, active = true, budgets = [] }: CostPaneProps) {
  const theme = useTheme();
  const currency = costs?.currency ?? 'USD';
  const total = costs ? Number(costs.total) : 0;
  const columns = useMemo(() => costColumns(costs?.by ?? by, currency, total), [costs?.by, by, currency, total]);
  if (ledger.state !== 'ok' || !costs) {
    const message =
      ledger.state === 'loading' ? `reading the ledger ${ledger.path}…` : (ledger.message ?? `the ledger ${ledger.path} cannot be read`);
    return (
      <Box flexDirection="column" width={width} height={Math.min(height, 2)}>
        <Text wrap="truncate-end" color={theme.tone(ledger.state === 'loading' ? 'muted' : 'warn')}>
          {'  ' + message}
        </Text>
      </Box>
    );
  }
  const summary = `by ${costs.by === 'machine' ? 'machine' : costs.by.replace(/^label:/, 'label ')} · ${day(costs.from)} to ${day(costs.to)} · total ${money(costs.total, currency)}${costs.forecast ? ` · forecast ${money(costs.forecast, currency)}` : ''}`;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end" dimColor>
        {'  ' + summary}
      </Text>
      {budgets.length > 0 ? <BudgetBars budgets={budgets} currency={currency} width={width} rows={budgetBlockRows(budgets.length, height) - 1} /> : null}
      <Table
        columns={columns}
        rows={lines}
        rowKey={(l) => l.key}
        width={width}
        height={height - 1 - budgetBlockRows(budgets.length, height)}
        selected={selected}
        scroll={scroll}
        active={active}
        empty="nothing billed in this period yet"
      />
    </Box>
  );
}
