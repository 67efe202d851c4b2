// The help overlay (?): every key, from the same table the key map follows.
import { Box, Text } from 'ink';
import { KEY_HELP } from '../src/console/ui-state.js';
import { truncate } from '../src/format/index.js';

export function HelpOverlay({ width, height }: { width: number; height: number }) {
  const keyWidth = Math.max(...KEY_HELP.map(([k]) => k.length));
  const inner = Math.min(width - 4, 72);
  // Border (2), title (1) and the closing hint (1) around the keys.
  const shown = KEY_HELP.slice(0, Math.max(0, height - 4));
  const cut = shown.length < KEY_HELP.length;
  return (
    <Box flexDirection="column" borderStyle="round" width={Math.min(width, inner + 4)} paddingX={1} height={Math.min(height, shown.length + 4)}>
      <Text bold wrap="truncate-end">
        Keys
      </Text>
      {shown.map(([keys, what]) => (
        <Text key={keys} wrap="truncate-end">
          <Text bold>{keys.padEnd(keyWidth)}</Text>
          {'  ' + truncate(what, Math.max(0, inner - keyWidth - 2))}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {cut ? `… ${KEY_HELP.length - shown.length} more on a taller terminal · ` : ''}? or Esc closes this help
      </Text>
    </Box>
  );
}
