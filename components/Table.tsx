// A small table of our own: column widths from content (src/console/table-layout.ts), cells cut with
// an ellipsis, and only the rows that fit are rendered. The selected row gets a marker ("›") and
// inverse video; every line is at most `width` columns, so nothing ever wraps.
import { memo, useMemo } from 'react';
import { Box, Text } from 'ink';
import { layoutColumns, type ColumnSpec } from '../src/console/table-layout.js';
import { fit, textWidth } from '../src/console/format.js';
import { useTheme, type Tone } from './Theme.js';

export interface TableColumn<Row> {
  id: string;
  header: string;
  align?: 'left' | 'right';
  /** The cell's text; `width` is the column's width (a sparkline draws to it). */
  cell: (row: Row, width: number) => string;
  /** A fixed width: the content is not measured. */
  width?: number;
  minWidth?: number;
  maxWidth?: number;
  /** Takes the spare width, between minWidth and maxWidth. */
  flex?: boolean;
  /** May be cut (with an ellipsis) down to minWidth when the table is too wide. */
  shrink?: boolean;
  /** A shrinkable column is cut to this before optional columns are dropped. */
  softWidth?: number;
  /** Optional: dropped when the table is too wide, highest first. */
  drop?: number;
  tone?: (row: Row) => Tone | undefined;
}

export interface TableProps<Row> {
  columns: readonly TableColumn<Row>[];
  rows: readonly Row[];
  rowKey: (row: Row) => string;
  width: number;
  /** Lines available, the header included. */
  height: number;
  /** Index (into rows) of the selected row, or -1. */
  selected: number;
  /** Index of the first visible row. */
  scroll: number;
  /** Whether the pane has the keyboard: only then is the selection shown. */
  active?: boolean;
  /** A tone for the whole row (stale rows are muted). */
  rowTone?: (row: Row) => Tone | undefined;
  /** Shown instead of rows when there are none. */
  empty?: string;
}

const MARKER = '›';

interface Segment {
  text: string;
  tone?: Tone;
}

const TableRow = memo(
  function TableRow({ segments, selected }: { segments: readonly Segment[]; selected: boolean; signature: string }) {
    const theme = useTheme();
    return (
      <Text wrap="truncate-end" inverse={selected}>
        {segments.map((s, i) =>
          s.tone ? (
            <Text key={i} color={theme.tone(s.tone)} dimColor={s.tone === 'muted' && !theme.color}>
              {s.text}
            </Text>
          ) : (
            s.text
          ),
        )}
      </Text>
    );
  },
  (a, b) => a.signature === b.signature && a.selected === b.selected,
);

export function Table<Row>({ columns, rows, rowKey, width, height, selected, scroll, active = true, rowTone, empty }: TableProps<Row>) {
  const bodyHeight = Math.max(0, height - 1);
  const start = Math.max(0, Math.min(scroll, Math.max(0, rows.length - bodyHeight)));
  const visible = rows.slice(start, start + bodyHeight);

  // Widths from the content of every row (not just the visible ones), so they hold still on scroll.
  const widths = useMemo(() => {
    const specs: ColumnSpec[] = columns.map((c) => {
      let natural = c.width ?? textWidth(c.header);
      if (c.width === undefined && !c.flex) {
        for (const row of rows) {
          const w = textWidth(c.cell(row, Infinity));
          if (w > natural) natural = w;
        }
      }
      const min = c.minWidth ?? Math.min(natural, Math.max(3, textWidth(c.header)));
      return { natural: c.maxWidth !== undefined ? Math.min(natural, c.maxWidth) : natural, min, max: c.maxWidth, flex: c.flex, shrink: c.shrink, soft: c.softWidth, drop: c.drop };
    });
    // Two columns for the selection marker and a space.
    return layoutColumns(specs, width - 2);
  }, [columns, rows, width]);

  const headerText = useMemo(() => {
    const parts: string[] = [];
    columns.forEach((c, i) => {
      const w = widths[i];
      if (w === null || w === undefined) return;
      parts.push(fit(c.header, w, c.align));
    });
    return '  ' + parts.join(' ');
  }, [columns, widths]);

  return (
    <Box flexDirection="column" width={width} height={Math.min(height, 1 + Math.max(visible.length, empty && rows.length === 0 ? 1 : 0))}>
      <Text wrap="truncate-end" bold>
        {headerText}
      </Text>
      {rows.length === 0 && empty && bodyHeight > 0 ? (
        <Text wrap="truncate-end" dimColor>
          {'  ' + empty}
        </Text>
      ) : null}
      {visible.map((row, i) => {
        const index = start + i;
        const isSelected = active && index === selected;
        const whole = rowTone?.(row);
        const segments: Segment[] = [{ text: isSelected ? `${MARKER} ` : '  ' }];
        let signature = segments[0]!.text;
        columns.forEach((c, ci) => {
          const w = widths[ci];
          if (w === null || w === undefined) return;
          const text = (segments.length > 1 ? ' ' : '') + fit(c.cell(row, w), w, c.align);
          const tone = c.tone?.(row) ?? whole;
          segments.push({ text, tone });
          signature += `${text}\u0000${tone ?? ''}\u0001`;
        });
        return <TableRow key={rowKey(row)} segments={segments} selected={isSelected} signature={signature} />;
      })}
    </Box>
  );
}
