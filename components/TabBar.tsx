// The pane tabs, with what the current pane is showing (count, sort, filter) on the same line.
import { memo } from 'react';
import { Text } from 'ink';
import { useTheme } from './Theme.js';
import { PANES, PANE_TITLES, type PaneId } from '../src/console/ui-state.js';

export interface TabBarProps {
  pane: PaneId;
  /** e.g. "40 machines · sort CPU ↓ · filter web" */
  info: string;
  width: number;
}

export const TabBar = memo(function TabBar({ pane, info }: TabBarProps) {
  const theme = useTheme();
  return (
    <Text wrap="truncate-end">
      {PANES.map((p, i) =>
        p === pane ? (
          <Text key={p} inverse bold color={theme.tone('accent')}>{` ${i + 1} ${PANE_TITLES[p]} `}</Text>
        ) : (
          <Text key={p} dimColor>{` ${i + 1} ${PANE_TITLES[p]} `}</Text>
        ),
      )}
      <Text dimColor>{info ? `  ${info}` : ''}</Text>
    </Text>
  );
});
