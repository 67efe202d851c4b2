// A small table of our own: column widths from content (src/format/table-layout.ts), cells cut with
// an ellipsis, and only the rows that fit are rendered (and measured), as one text node. The selected
// row gets a marker ("›") and inverse video; every line is at most `width` columns, so nothing wraps.
import { useMemo, useRef } from 'react';
import { Box, Text, Transform } from 'ink';
import { fit, layoutColumns, textWidth, type ColumnSpec } from '../src/format/index.js';
import { useTheme, type Tone } from './Theme.js';
import { glyphRuns, GLYPHS_OFF, GLYPHS_ON, styled } from './ansi.js';

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
 * Content widths per row object and column id. A column's content (other than fixed-width ones)
 * depends only on its row, so a width measured once stays true while the row does: rows are either
 * immutable or brought up to date in place under a new `version` (the console's fleet rows), which
 * forgets the row's widths.
 */
const widthCache = new WeakMap<object, { version: unknown; byColumn: Map<string, number> }>();
function measuredWidth<Row>(row: Row, column: TableColumn<Row>): number {
  if (typeof row !== 'object' || row === null) return textWidth(column.cell(row, Infinity));
  const version = (row as { version?: unknown }).version;
  let cached = widthCache.get(row);
  if (!cached || cached.version !== version) widthCache.set(row, (cached = { version, byColumn: new Map() }));
  let w = cached.byColumn.get(column.id);
  if (w === undefined) {
    w = textWidth(column.cell(row, Infinity));
    cached.byColumn.set(column.id, w);
  }
  return w;
}

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

  // The body is one Text node: each row is a line with its styles written in (components/ansi.ts),
  // so ink lays out and measures one node instead of several per row. A column with glyphs gets its
  // ASCII stand-in marked, and the transform turns it into glyphs after ink has measured the text.
  const theme = useTheme();
  let glyphs: ((text: string) => string) | undefined;
  const lines = visible.map((row, i) => {
    const index = start + i;
    const isSelected = active && index === selected;
    const whole = rowTone?.(row);
    const wholeStyle = { color: theme.tone(whole), dim: whole === 'muted' && !theme.color };
    let line = styled(isSelected ? `${MARKER} ` : '  ', wholeStyle);
    let first = true;
    columns.forEach((c, ci) => {
      const w = widths[ci];
      if (w === null || w === undefined) return;
      let cell = fit(c.cell(row, w), w, c.align);
      const tone = c.tone?.(row) ?? whole;
      if (c.glyphs) {
        glyphs ??= c.glyphs;
        cell = GLYPHS_ON + cell + GLYPHS_OFF;
      }
      line += (first ? '' : ' ') + styled(cell, { color: theme.tone(tone), dim: tone === 'muted' && !theme.color });
      first = false;
    });
    // Under the selection bar, the whole width is inverse; elsewhere trailing padding is not drawn.
    return isSelected ? styled(line, { inverse: true }) : line.replace(/ +((?:\u001b\[[0-9;]*m)*)$/, '$1');
  });
  const body = lines.join('\n');
  const transform = glyphs;

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
      {body ? (
        transform ? (
          <Transform transform={(line) => glyphRuns(line, transform)}>
            <Text wrap="truncate-end">{body}</Text>
          </Transform>
        ) : (
          <Text wrap="truncate-end">{body}</Text>
        )
      ) : null}
    </Box>
  );
}
