// The console's timing defaults, in a module of their own so the command can show them in --help
// without loading Kafka or SQLite.

/**
 * Data updates of the screen: every 1.5 s, as htop does by default. Key presses redraw at once
 * whatever this is. A 120x40 frame costs ~15-20 ms of CPU (most of it ink's layout and output), so
 * this keeps a 1,000-machine console under 5% of a core (test/bench/console.ts); --refresh 500 is
 * smoother at about twice the CPU.
 */
export const DEFAULT_REFRESH_MS = 1500;
export const DEFAULT_LAG_POLL_MS = 2000;
export const DEFAULT_LEDGER_POLL_MS = 5000;
/** Ten polls, Burrow's default window of ten offsets. */
export const DEFAULT_LAG_WINDOW_MS = 10 * DEFAULT_LAG_POLL_MS;
export const DEFAULT_MAX_POINTS = 120;
