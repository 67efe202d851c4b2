// What both engines' history queries share. A machine's samples are found through its runs (the id's
// part before the sequence, which names the machine) and the samples_by_run_start index (run,
// start_ms, window_ms). For coverage the database returns the "islands" of the machine's windows
// (each run of touching or overlapping windows, found with window functions, so a month of samples
// never leaves the database); this turns them, with the one window that starts before the range,
// into covered spans clipped to the range.
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

// The same DDL on both engines (SQLite v5, PostgreSQL v3).
export const RUN_START_INDEX_SQL = `
  -- Samples in time order per agent run: one machine's (the console's detail view, sparklines and
  -- coverage, read from the index alone with window_ms in it) and the fleet's in a time range (one
  -- probe per run: ragged range ends, explain, pruning). It replaces samples_by_start, so a raw
  -- sample keeps within 100 bytes with both (see npm run bench:ledger-size).
  CREATE INDEX IF NOT EXISTS samples_by_run_start ON samples (run, start_ms, window_ms);
  DROP INDEX IF EXISTS samples_by_start;
`;
export const RUN_START_INDEX_DESCRIPTION = "samples by run and time, for one machine's history and the fleet's time ranges";

/** One sample of a machine, in the columns MachineSample needs (aliases: r runs, s samples, h shapes). */
export const SAMPLE_COLUMNS = 's.start_ms, s.start_ms + s.window_ms AS end_ms, h.cores, s.cpu_busy_us, s.mem_used_bytes, h.mem_total_bytes';
export const MACHINE_SAMPLES_FROM = 'runs r JOIN samples s ON s.run = r.id JOIN shapes h ON h.id = s.shape';

/** A machine's samples starting in [from, to), in start order. Parameters: machine, from, to. */
export const machineSamplesSql = (p: (n: number) => string): string =>
  `SELECT ${SAMPLE_COLUMNS} FROM ${MACHINE_SAMPLES_FROM} WHERE r.machine = ${p(1)} AND s.start_ms >= ${p(2)} AND s.start_ms < ${p(3)} ORDER BY s.start_ms`;

/**
 * The latest window of a machine starting before `from`: the latest of each run's (one index probe per
 * run, not a sort of the machine's whole history). Parameters: machine, from.
 */
export const windowBeforeSql = (p: (n: number) => string): string =>
  `SELECT s.start_ms, s.start_ms + s.window_ms AS end_ms FROM runs r JOIN samples s ON s.run = r.id
   WHERE r.machine = ${p(1)} AND s.start_ms = (SELECT MAX(x.start_ms) FROM samples x WHERE x.run = r.id AND x.start_ms < ${p(2)})
   ORDER BY s.start_ms DESC LIMIT 1`;

/**
 * The islands query's SELECT, the same SQL on both engines: windows starting in [from, to), in start
 * order, keeping the island starts and the last row. Parameters: machine, from, to.
 */
export function islandsSql(p: (n: number) => string): string {
  return `SELECT start_ms, prev_end, run_end, next_start IS NULL AS last FROM (
      SELECT start_ms,
             MAX(end_ms) OVER (ORDER BY start_ms, end_ms ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end,
             MAX(end_ms) OVER (ORDER BY start_ms, end_ms ROWS UNBOUNDED PRECEDING) AS run_end,
             LEAD(start_ms) OVER (ORDER BY start_ms, end_ms) AS next_start
      FROM (SELECT s.start_ms, s.start_ms + s.window_ms AS end_ms FROM runs r JOIN samples s ON s.run = r.id
            WHERE r.machine = ${p(1)} AND s.start_ms >= ${p(2)} AND s.start_ms < ${p(3)}) m
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
