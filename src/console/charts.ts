// Charts for the detail view: a time axis across the whole width the terminal gives, one column per
// slice of the window, each column a bar of eighth-blocks (a bar's bottom block marks a covered
// slice even at 0%, so gaps without samples stay blank and can be told apart).
import type { HistoryPoint } from './history.js';

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/** "100%┤" and the like: the label column's width. */
export const CHART_LABEL_WIDTH = 5;

/**
 * The mean of `key` in each of `columns` equal slices of [from, to]; null where no point falls.
 * A point counts in the slice that holds its time (window end).
 */
export function resample(points: readonly HistoryPoint[], key: 'cpu' | 'mem', from: number, to: number, columns: number): Array<number | null> {
  const sums = new Array<number>(columns).fill(0);
  const counts = new Array<number>(columns).fill(0);
  const span = Math.max(1, to - from);
  for (const p of points) {
    if (p.at < from || p.at > to) continue;
    const c = Math.min(columns - 1, Math.floor(((p.at - from) / span) * columns));
    const n = p.samples ?? 1;
    sums[c]! += p[key] * n;
    counts[c]! += n;
  }
  return sums.map((s, i) => (counts[i]! > 0 ? s / counts[i]! : null));
}

/** Bars of 0..100 values, `rows` high, with a % scale on the left; null columns blank. */
export function barRows(values: ReadonlyArray<number | null>, rows: number): string[] {
  const lines: string[] = [];
  for (let r = rows - 1; r >= 0; r--) {
    const label = r === rows - 1 ? '100%┤' : r === 0 ? '  0%┤' : rows >= 5 && r === Math.floor((rows - 1) / 2) ? ' 50%┤' : '    │';
    let line = label;
    for (const v of values) {
      if (v === null) {
        line += ' ';
        continue;
      }
      const eighths = Math.max(1, Math.round((Math.min(100, Math.max(0, v)) / 100) * rows * 8));
      line += BLOCKS[Math.max(0, Math.min(8, eighths - r * 8))];
    }
    lines.push(line);
  }
  return lines;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
/** Local time HH:MM, or the UTC day MM-DD for a window of days. */
function timeLabel(t: number, days: boolean): string {
  const d = new Date(t);
  return days ? `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` : `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** The time axis under a chart: the window's start at the left, its middle and its end. */
export function timeAxis(from: number, to: number, columns: number, days: boolean): string {
  const left = timeLabel(from, days);
  const right = days ? timeLabel(to - 1, true) : timeLabel(to, false);
  const mid = timeLabel(from + (to - from) / 2, days);
  const axis = new Array<string>(columns).fill(' ');
  const put = (text: string, at: number) => {
    for (let i = 0; i < text.length; i++) if (at + i >= 0 && at + i < columns) axis[at + i] = text[i]!;
  };
  put(left, 0);
  if (columns >= 3 * (left.length + 2)) put(mid, Math.floor(columns / 2 - mid.length / 2));
  if (columns >= 2 * (left.length + 1)) put(right, columns - right.length);
  return ' '.repeat(CHART_LABEL_WIDTH) + axis.join('');
}

/** A whole chart `width` columns wide and `height` rows high (the last row the time axis). */
export function timeChart(points: readonly HistoryPoint[], key: 'cpu' | 'mem', window: { from: number; to: number; days: boolean }, width: number, height: number): string[] {
  const columns = width - CHART_LABEL_WIDTH;
  if (height < 2 || columns < 4) return [];
  const values = resample(points, key, window.from, window.to, columns);
  return [...barRows(values, height - 1), timeAxis(window.from, window.to, columns, window.days)];
}
