// The help overlay (?): every key, generated from the key table the key handling follows. In two
// columns when one does not fit the terminal's height.
import { Box, Text } from 'ink';
import { helpLines } from '../src/console/keys.js';
import { fit, textWidth } from '../src/format/index.js';

type Row = { title: string } | { keys: string; help: string };
// A line of its own for each section title.
const ROWS: Row[] = helpLines().flatMap((l): Row[] => (l.section ? [{ title: l.section }, l] : [l]));
const KEY_WIDTH = Math.max(...ROWS.map((r) => ('keys' in r ? textWidth(r.keys) : 0)));

function Cell({ row, width }: { row: Row | undefined; width: number }) {
  if (!row) return null;
  if ('title' in row) return <Text dimColor>{fit(row.title, width)}</Text>;
  return (
    <>
      <Text bold>{fit(row.keys, Math.min(KEY_WIDTH, width))}</Text>
      {fit('  ' + row.help, Math.max(0, width - KEY_WIDTH))}
    </>
  );
}

export function HelpOverlay({ width, height }: { width: number; height: number }) {
  const inner = Math.min(width - 4, 120);
  // Border (2), title (1) and the closing hint (1) around the keys.
  const room = Math.max(0, height - 4);
  const columns = ROWS.length > room && inner >= 2 * (KEY_WIDTH + 20) + 2 ? 2 : 1;
  const perColumn = Math.ceil(ROWS.length / columns);
  const lines = Math.min(room, perColumn);
  const cellWidth = columns === 2 ? Math.floor((inner - 2) / 2) : inner;
  const cut = Math.max(0, ROWS.length - lines * columns);
  return (
    <Box flexDirection="column" borderStyle="round" width={Math.min(width, inner + 4)} paddingX={1} height={Math.min(height, lines + 4)}>
      <Text bold wrap="truncate-end">
        Keys
      </Text>
      {Array.from({ length: lines }, (_, i) => (
        <Text key={i} wrap="truncate-end">
          <Cell row={ROWS[i]} width={cellWidth} />
          {columns === 2 ? (
            <>
              {'  '}
              <Cell row={ROWS[i + perColumn]} width={cellWidth} />
            </>
          ) : null}
        </Text>
      ))}
      <Text dimColor wrap="truncate-end">
        {cut > 0 ? `… ${cut} more on a taller terminal · ` : ''}? or Esc closes this help
      </Text>
    </Box>
  );
}
