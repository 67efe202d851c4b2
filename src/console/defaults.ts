// The console's timing defaults, in a module of their own so the command can show them in --help
// without loading Kafka or SQLite.

/**
 * Data updates of the screen: once a second, the clock's own resolution. Key presses redraw at once
 * whatever this is. A 120x40 frame costs ink ~12 ms of CPU, so 1 s keeps a 1,000-machine console
 * under 5% of a core; --refresh 250-500 is smoother at two to four times the rendering cost.
 */
export const DEFAULT_REFRESH_MS = 1000;
export const DEFAULT_LAG_POLL_MS = 2000;
export const DEFAULT_LEDGER_POLL_MS = 5000;
/** Ten polls, Burrow's default window of ten offsets. */
export const DEFAULT_LAG_WINDOW_MS = 10 * DEFAULT_LAG_POLL_MS;
export const DEFAULT_MAX_POINTS = 120;
