// Lag pane: per partition of the topic, the billing group's committed offset, the end offset, lag,
// consume rate, time to catch up and a Burrow-style status; then the group's members.
import { useMemo } from 'react';
import { Box, Text } from 'ink';
import { Table, type TableColumn } from './Table.js';
import { useTheme, type Tone } from './Theme.js';
import { unbilledTotal, type LagPartitionRow, type LagView, type UnbilledOffsets } from '../src/console/snapshot.js';
import type { LagStatus } from '../src/console/lag-status.js';
import { duration, rate } from '../src/console/format.js';
import { thousands, truncate } from '../src/format/index.js';

export interface LagPaneProps {
  lag: LagView;
  rows: readonly LagPartitionRow[];
  group: string;
  width: number;
  height: number;
  selected: number;
  scroll: number;
  active?: boolean;
  /** Offsets the ledger will never bill (from its stats): a warning beside the status. */
  unbilled?: UnbilledOffsets;
}

/** "⚠ 34 offsets never billed (30 lost to retention, 4 skipped by a reset)", or '' when there are none. */
export function unbilledWarning(unbilled: UnbilledOffsets | undefined): string {
  const total = unbilledTotal(unbilled);
  if (!unbilled || total === 0) return '';
  const why = [
    unbilled.lost ? `${thousands(unbilled.lost)} lost to retention` : '',
    unbilled.skipped ? `${thousands(unbilled.skipped)} skipped by a reset` : '',
  ].filter(Boolean);
  return `⚠ ${thousands(total)} offsets never billed (${why.join(', ')}): meter ledger offsets`;
}

export const STATUS_TONE: Record<LagStatus, Tone> = { OK: 'ok', WARN: 'warn', STALL: 'error', STOP: 'error' };

const COLUMNS: TableColumn<LagPartitionRow>[] = [
  { id: 'partition', header: 'PARTITION', align: 'right', cell: (r) => String(r.partition) },
  { id: 'committed', header: 'COMMITTED', align: 'right', cell: (r) => (r.committed === null ? '—' : thousands(r.committed)) },
  { id: 'end', header: 'END', align: 'right', cell: (r) => thousands(r.end) },
  { id: 'lag', header: 'LAG', align: 'right', cell: (r) => (r.lag === null ? '—' : thousands(r.lag)) },
  { id: 'rate', header: 'RATE', align: 'right', cell: (r) => rate(r.consumeRate), drop: 2 },
  { id: 'catchup', header: 'CATCH-UP', align: 'right', cell: (r) => duration(r.catchUpSeconds), drop: 3 },
  { id: 'status', header: 'STATUS', cell: (r) => r.status, tone: (r) => STATUS_TONE[r.status] },
  { id: 'why', header: 'WHY', cell: (r) => r.reason, drop: 4, shrink: true, minWidth: 6 },
  { id: 'owner', header: 'OWNER', cell: (r) => r.owner ?? '—', drop: 5, shrink: true, minWidth: 6 },
];

export function LagPane({ lag, rows, group, width, height, selected, scroll, active = true, unbilled }: LagPaneProps) {
  const theme = useTheme();
  const members = useMemo(
    () =>
      lag.members.map(
        (m) => `${m.clientId}@${m.host.replace(/^\//, '')}  partitions ${m.partitions.length ? m.partitions.join(',') : '—'}`,
      ),
    [lag.members],
  );
  if (lag.state === 'loading' && lag.partitions.length === 0) {
    return (
      <Text wrap="truncate-end" dimColor>
        {'  reading offsets…'}
      </Text>
    );
  }
  // Partitions first; members get what is left, at least a title and one line when there is room.
  const available = Math.max(0, height - 1);
  const tableNeeded = Math.max(1, rows.length) + 1;
  const membersNeeded = Math.max(1, members.length) + 1;
  let memberLines: number;
  if (available >= tableNeeded + membersNeeded) memberLines = membersNeeded;
  else if (available >= 4) memberLines = Math.min(membersNeeded, Math.max(2, Math.floor(available / 3)));
  else memberLines = 0;
  const tableHeight = Math.min(tableNeeded, available - memberLines);
  const summary = `  group ${group} (${lag.groupState}) · total lag ${thousands(lag.totalLag)} · `;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text dimColor>{truncate(summary, Math.max(0, width - lag.status.length))}</Text>
        <Text color={theme.tone(STATUS_TONE[lag.status])} bold>
          {lag.status}
        </Text>
        {lag.state === 'error' && lag.message ? <Text color={theme.tone('warn')}>{` · ${lag.message}`}</Text> : null}
        {unbilledWarning(unbilled) ? <Text color={theme.tone('warn')} bold>{` · ${unbilledWarning(unbilled)}`}</Text> : null}
      </Text>
      <Table columns={COLUMNS} rows={rows} rowKey={(r) => `${r.topic}:${r.partition}`} width={width} height={tableHeight} selected={selected} scroll={scroll} active={active} empty="the topic has no partitions yet" />
      {memberLines > 0 ? (
        <Box flexDirection="column" height={memberLines}>
          <Text wrap="truncate-end" bold>
            {`  MEMBERS (${lag.members.length})`}
          </Text>
          {members.length === 0 ? (
            <Text wrap="truncate-end" color={theme.tone('warn')}>
              {'  no live members: nothing is consuming for this group'}
            </Text>
          ) : (
            members.slice(0, Math.max(0, memberLines - 1)).map((m, i) => (
              <Text key={i} wrap="truncate-end">
                {'  ' + m}
              </Text>
            ))
          )}
        </Box>
      ) : null}
    </Box>
  );
}
