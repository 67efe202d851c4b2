// Plain-text tables (invoices, budgets): the same column layout as the console's Table component
// (table-layout.ts), with cells padded and cut in terminal columns by text.ts. The console draws its
// tables with ink for colour and selection; commands that print once use this, without React.
import { layoutColumns } from './table-layout.js';
import { fit, textWidth } from './text.js';

export interface TextColumn {
  header: string;
  align?: 'left' | 'right';
  /** May be cut (with an ellipsis) down to `min` columns when the table is wider than allowed. */
  shrink?: boolean;
  min?: number;
}

export interface TextTableOptions {
  /** Widest a line may be; shrinkable columns are cut to fit. Default: no limit. */
  width?: number;
  /** Spaces between columns. */
  gap?: number;
  /** A rule of dashes is drawn before each of these row indices (rows.length: after the last). */
  rulesBefore?: readonly number[];
}

/** The table's lines: header, then rows; trailing spaces trimmed. */
export function textTable(columns: readonly TextColumn[], rows: readonly (readonly string[])[], options: TextTableOptions = {}): string[] {
  const gap = options.gap ?? 2;
  const specs = columns.map((c, i) => {
    const natural = Math.max(textWidth(c.header), ...rows.map((r) => textWidth(r[i] ?? '')));
    return { natural, min: c.shrink ? Math.min(natural, c.min ?? 1) : natural, shrink: c.shrink };
  });
  const widths = layoutColumns(specs, options.width ?? Number.MAX_SAFE_INTEGER, gap).map((w, i) => w ?? specs[i]!.natural);
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => fit(cells[i] ?? '', widths[i]!, c.align))
      .join(' '.repeat(gap))
      .trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1));
  const rules = new Set(options.rulesBefore ?? []);
  const out = [line(columns.map((c) => c.header))];
  rows.forEach((r, i) => {
    if (rules.has(i)) out.push(rule);
    out.push(line(r));
  });
  if (rules.has(rows.length)) out.push(rule);
  return out;
}

/** Widest line of `lines`, in columns. */
export function widestLine(lines: readonly string[]): number {
  return lines.reduce((w, l) => Math.max(w, textWidth(l)), 0);
}
