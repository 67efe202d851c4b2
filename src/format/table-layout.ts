// Column widths for tables (the console's Table component and the plain-text tables of table.ts):
// from content, fitted to a width. Pure, so renderers only draw what this decides.

export interface ColumnSpec {
  /** Widest content in the column, header included. */
  natural: number;
  /** Never narrower than this (when shrinking or for flexible columns). */
  min: number;
  /** Flexible columns grow up to this to use spare width. */
  max?: number;
  /** Takes the width left over (a sparkline): starts at min, grows to max. */
  flex?: boolean;
  /** May be cut below its natural width (with an ellipsis), down to min. */
  shrink?: boolean;
  /** A shrinkable column is cut to this width before any optional column is dropped (default: min). */
  soft?: number;
  /** Optional column: when the table does not fit, the highest drop is removed first. */
  drop?: number;
}

/**
 * Widths per column (null: dropped) so that the columns plus one-column gaps fit `width`. Flexible
 * columns start at their minimum and shrinkable ones at their soft width; while too wide, optional
 * columns are dropped (highest `drop` first), then shrinkable ones are cut to their minimum. Spare
 * width goes to flexible columns (up to their max), then to shrinkable ones (up to their content).
 */
export function layoutColumns(specs: readonly ColumnSpec[], width: number, gap = 1): Array<number | null> {
  const widths: Array<number | null> = specs.map((s) =>
    s.flex ? s.min : s.shrink ? Math.min(s.natural, Math.max(s.min, s.soft ?? s.min)) : Math.max(s.natural, 0),
  );
  const total = () => {
    let sum = 0;
    let shown = 0;
    for (const w of widths) {
      if (w === null) continue;
      sum += w;
      shown++;
    }
    return sum + gap * Math.max(0, shown - 1);
  };
  /** Cuts shrinkable columns, widest first, one column at a time, down to floor(spec). */
  const shrinkTo = (floor: (s: ColumnSpec) => number) => {
    let over = total() - width;
    while (over > 0) {
      let widest = -1;
      for (let i = 0; i < specs.length; i++) {
        const w = widths[i];
        if (w === null || w === undefined || !specs[i]!.shrink || w <= floor(specs[i]!)) continue;
        if (widest < 0 || w > widths[widest]!) widest = i;
      }
      if (widest < 0) break;
      widths[widest]!--;
      over--;
    }
  };

  // Drop optional columns while too wide.
  while (total() > width) {
    let victim = -1;
    for (let i = specs.length - 1; i >= 0; i--) {
      const d = specs[i]!.drop;
      if (d === undefined || widths[i] === null) continue;
      if (victim < 0 || d > specs[victim]!.drop!) victim = i;
    }
    if (victim < 0) break;
    widths[victim] = null;
  }
  shrinkTo((s) => s.min);

  // Spare width to flexible columns (evenly, up to their max), then back to cut columns, in order.
  let spare = width - total();
  while (spare > 0) {
    let grew = false;
    for (let i = 0; i < specs.length && spare > 0; i++) {
      const s = specs[i]!;
      const w = widths[i];
      if (!s.flex || w === null || w === undefined || w >= (s.max ?? Infinity)) continue;
      widths[i] = w + 1;
      spare--;
      grew = true;
    }
    if (!grew) break;
  }
  for (let i = 0; i < specs.length && spare > 0; i++) {
    const w = widths[i];
    if (!specs[i]!.shrink || w === null || w === undefined || w >= specs[i]!.natural) continue;
    const give = Math.min(spare, specs[i]!.natural - w);
    widths[i] = w + give;
    spare -= give;
  }
  return widths;
}
