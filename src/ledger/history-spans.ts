// What both engines' coverage queries share: the database returns the "islands" of a machine's sample
// windows (each run of touching or overlapping windows, found with window functions over the
// (machine, start, end) index, so a month of samples never leaves the database); this turns them,
// with the one window that starts before the range, into covered spans clipped to the range.
import { coveredWindows } from '../billing/coverage.js';
import type { TimeSpan } from './ledger.js';

/**
 * One row of the islands query, in start order: a row that starts an island (its start is past every
 * earlier window's end, or it is the first), or the last row.
 */
export interface IslandRow {
  start: number;
  /** The latest end of the windows before this row (null for the first). */
  prevEnd: number | null;
  /** The latest end of the windows up to and including this row. */
  runEnd: number;
  /** Whether this is the last window in the range. */
  last: boolean;
}

/**
 * The islands query's SELECT, the same SQL on both engines: windows starting in [from, to), in index
 * order, keeping the island starts and the last row. Parameters: machine, from, to.
 */
export function islandsSql(p: (n: number) => string): string {
  return `SELECT start_ms, prev_end, run_end, next_start IS NULL AS last FROM (
      SELECT start_ms,
             MAX(end_ms) OVER (ORDER BY start_ms, end_ms ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end,
             MAX(end_ms) OVER (ORDER BY start_ms, end_ms ROWS UNBOUNDED PRECEDING) AS run_end,
             LEAD(start_ms) OVER (ORDER BY start_ms, end_ms) AS next_start
      FROM samples WHERE machine = ${p(1)} AND start_ms >= ${p(2)} AND start_ms < ${p(3)}
    ) w WHERE prev_end IS NULL OR start_ms > prev_end OR next_start IS NULL ORDER BY start_ms`;
}

/**
 * The covered spans of [from, to): the islands, plus `before` (the latest window starting before
 * `from`: agents' windows tile time, so it is the one that can reach into the range), merged and clipped.
 */
export function spansFromIslands(rows: readonly IslandRow[], before: TimeSpan | undefined, from: number, to: number): TimeSpan[] {
  const islands: TimeSpan[] = before ? [before] : [];
  let open: number | null = null;
  for (const row of rows) {
    const startsIsland = row.prevEnd === null || row.start > row.prevEnd;
    if (startsIsland) {
      // The island before this one ended at the latest end seen before this row.
      if (open !== null) islands.push({ start: open, end: row.prevEnd! });
      open = row.start;
    }
    if (row.last && open !== null) islands.push({ start: open, end: row.runEnd });
  }
  return coveredWindows(islands, from, to);
}
