// A small table of our own: column widths from content (src/format/table-layout.ts), cells cut with
// an ellipsis, and only the rows that fit are rendered (and measured). The selected row gets a marker ("›") and
// inverse video; every line is at most `width` columns, so nothing ever wraps.
import { memo, useMemo, useRef } from 'react';
import { Box, Text, Transform } from 'ink';
import { fit, isPlainAscii, layoutColumns, textWidth, type ColumnSpec } from '../src/format/index.js';
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
  /**
   * The cell's text is an ASCII stand-in of the same width, turned into what the terminal shows on
   * the way out (a sparkline's levels into blocks). ink measures every text on every frame, and
   * measuring non-ASCII text costs it about a hundred times more.
   */
  glyphs?: (text: string) => string;
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

/**
 * Content widths per row object and column id. Rows are immutable snapshots, and a column's content
 * (other than fixed-width ones) depends only on its row, so a width measured once stays true.
 */
const widthCache = new WeakMap<object, Map<string, number>>();
function measuredWidth<Row>(row: Row, column: TableColumn<Row>): number {
  if (typeof row !== 'object' || row === null) return textWidth(column.cell(row, Infinity));
  let byColumn = widthCache.get(row);
  if (!byColumn) widthCache.set(row, (byColumn = new Map()));
  let w = byColumn.get(column.id);
  if (w === undefined) {
    w = textWidth(column.cell(row, Infinity));
    byColumn.set(column.id, w);
  }
  return w;
}

interface Segment {
  text: string;
  tone?: Tone;
  /** Applied to the text on its way to the terminal (same width): see TableColumn.glyphs. */
  glyphs?: (text: string) => string;
  /** All printable ASCII: may share a text node with its plain neighbours. */
  ascii: boolean;
}

const TableRow = memo(
  function TableRow({ segments, selected, width }: { segments: readonly Segment[]; selected: boolean; signature: string; width: number }) {
    const theme = useTheme();
    // Text nodes side by side: ink measures each on its own, so the plain ASCII runs stay on
    // string-width's fast path and the few others are short.
    return (
      <Box flexDirection="row" width={width} height={1}>
        {segments.map((s, i) => {
          const text = (
            <Text key={i} wrap="truncate-end" inverse={selected} color={theme.tone(s.tone)} dimColor={s.tone === 'muted' && !theme.color}>
              {s.text}
            </Text>
          );
          return s.glyphs ? (
            <Transform key={i} transform={s.glyphs}>
              {text}
            </Transform>
          ) : (
            text
          );
        })}
      </Box>
    );
  },
  (a, b) => a.signature === b.signature && a.selected === b.selected && a.width === b.width,
);

export function Table<Row>({ columns, rows, rowKey, width, height, selected, scroll, active = true, rowTone, empty }: TableProps<Row>) {
  const bodyHeight = Math.max(0, height - 1);
  const start = Math.max(0, Math.min(scroll, Math.max(0, rows.length - bodyHeight)));
  const visible = rows.slice(start, start + bodyHeight);

  // Widths from the content of the rows shown, and never narrower than what was shown before: the
  // work per frame follows the screen, not the fleet, and columns hold still while scrolling.
  const seen = useRef<{ key: string; widths: Map<string, number> }>({ key: '', widths: new Map() });
  const columnsKey = columns.map((c) => `${c.id}:${c.header}`).join('|');
  if (seen.current.key !== columnsKey) seen.current = { key: columnsKey, widths: new Map() };
  const widths = useMemo(() => {
    const known = seen.current.widths;
    const specs: ColumnSpec[] = columns.map((c) => {
      let natural = c.width ?? textWidth(c.header);
      if (c.width === undefined && !c.flex) {
        natural = Math.max(natural, known.get(c.id) ?? 0);
        for (const row of visible) {
          const w = measuredWidth(row, c);
          if (w > natural) natural = w;
        }
        known.set(c.id, natural);
      }
      const min = c.minWidth ?? Math.min(natural, Math.max(3, textWidth(c.header)));
      return { natural: c.maxWidth !== undefined ? Math.min(natural, c.maxWidth) : natural, min, max: c.maxWidth, flex: c.flex, shrink: c.shrink, soft: c.softWidth, drop: c.drop };
    });
    // Two columns for the selection marker and a space.
    return layoutColumns(specs, width - 2);
  }, [columns, visible, width]);

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
        // Adjacent plain ASCII cells of the same tone share one text node; a cell that is not plain
        // ASCII (an ellipsis, a dash, a sparkline) gets its own, so only it is measured the slow way.
        const marker = isSelected ? `${MARKER} ` : '  ';
        const segments: Segment[] = [{ text: marker, tone: whole, ascii: !isSelected }];
        let signature = '';
        let first = true;
        columns.forEach((c, ci) => {
          const w = widths[ci];
          if (w === null || w === undefined) return;
          const cell = fit(c.cell(row, w), w, c.align);
          const gap = first ? '' : ' ';
          first = false;
          const tone = c.tone?.(row) ?? whole;
          const ascii = !c.glyphs && isPlainAscii(cell);
          const last = segments[segments.length - 1]!;
          if (last.tone === tone && last.ascii && ascii) last.text += gap + cell;
          else if (last.tone === tone && last.ascii) {
            last.text += gap;
            segments.push({ text: cell, tone, ascii, glyphs: c.glyphs });
          } else segments.push({ text: gap + cell, tone, ascii, glyphs: c.glyphs });
        });
        // Trailing padding is not drawn (less for ink to lay out), except under the selection bar.
        if (!isSelected) {
          const last = segments[segments.length - 1]!;
          last.text = last.text.trimEnd();
          if (last.text === '' && segments.length > 1) segments.pop();
        }
        for (const seg of segments) signature += `${seg.text}\u0000${seg.tone ?? ''}\u0000${seg.glyphs ? 'g' : ''}\u0001`;
        return <TableRow key={rowKey(row)} segments={segments} selected={isSelected} signature={signature} width={width} />;
      })}
    </Box>
  );
}
