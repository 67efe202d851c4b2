// The bottom line: the filter being typed, or a notice, or the main keys.
import { memo } from 'react';
import { Text } from 'ink';
import { useTheme } from './Theme.js';
import { useUiState } from './UiContexts.js';
import { firstThatFits } from '../src/format/index.js';

export interface StatusLineProps {
  /** Keys are not read (stdin is not a terminal): say how to get them. */
  readOnly: boolean;
  width: number;
}

export const StatusLine = memo(function StatusLine({ readOnly, width }: StatusLineProps) {
  const theme = useTheme();
  const ui = useUiState();
  if (readOnly) {
    return (
      <Text wrap="truncate-end" color={theme.tone('warn')}>
        read-only: no keys without a terminal on stdin; use ssh -t host meter console
      </Text>
    );
  }
  if (ui.filterEditing) {
    return (
      <Text wrap="truncate-end">
        <Text bold>/</Text>
        {ui.filter}
        <Text inverse> </Text>
        <Text dimColor> Enter keep · Esc clear</Text>
      </Text>
    );
  }
  const filter = ui.filter ? `filter "${ui.filter}" (Esc clears) · ` : '';
  const hints =
    ui.detail !== null
      ? ['Esc back · ↑↓ next machine · p pause · ? help · q quit', 'Esc back · ? help · q quit']
      : [
          'Tab pane · ↑↓ move · Enter detail · / filter · s sort · p pause · ? help · q quit',
          'Tab pane · Enter detail · / filter · s sort · p pause · ? help · q quit',
          'Tab · / filter · s sort · p pause · ? help · q quit',
          '? help · q quit',
        ];
  return (
    <Text wrap="truncate-end" dimColor>
      {firstThatFits(
        hints.map((h) => filter + h),
        width,
      )}
    </Text>
  );
});
