// Formatting helpers for the console: plain functions from numbers to short strings. The components
// use them to render snapshots, and `--once` uses them for its plain-text snapshot.

export const ELLIPSIS = '…';

/** Cells are measured in code points; the console's own glyphs (sparks, badges) are all one column. */
export function textWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Cuts `text` to at most `width` columns, ending in an ellipsis when anything was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  if (width === 1) return ELLIPSIS;
  return chars.slice(0, width - 1).join('') + ELLIPSIS;
}

/** Pads or truncates to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = width - textWidth(cut);
  if (pad <= 0) return cut;
  return align === 'right' ? ' '.repeat(pad) + cut : cut + ' '.repeat(pad);
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

/**
 * A sparkline as ASCII levels: ' ' for no value, '0'..'7' for the eight block heights. The terminal
 * gets the blocks (sparkGlyphs); ink measures the ASCII, which is far cheaper than measuring blocks.
 */
export function sparkLevels(values: readonly number[], width: number, max = 100): string {
  if (width <= 0) return '';
  const recent = values.length > width ? values.slice(values.length - width) : values;
  let out = ' '.repeat(width - recent.length);
  for (const v of recent) out += String(Math.round((Math.min(Math.max(v, 0), max) / max) * (SPARKS.length - 1)));
  return out;
}

/** Levels to blocks; ANSI escape sequences (which contain digits) pass through untouched. */
export function sparkGlyphs(levels: string): string {
  return levels.replace(/\u001b\[[0-9;]*m|[0-7]/g, (m) => (m.length === 1 ? SPARKS[Number(m)]! : m));
}

/**
 * A sparkline of the last `width` values on a fixed 0..max scale (CPU % is 0..100), so that rows can
 * be compared with each other. Missing history is left blank on the left.
 */
export function sparkline(values: readonly number[], width: number, max = 100): string {
  return sparkGlyphs(sparkLevels(values, width, max));
}

/** Printable ASCII only: ink measures such text on string-width's fast path. */
export const isPlainAscii = (text: string): boolean => /^[\u0020-\u007e]*$/.test(text);

/** "42%" for 0..100, "—" when unknown. */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${Math.round(value)}%`;
}

const CURRENCY_SYMBOLS: Record<string, string> = { USD: '$', EUR: '€', GBP: '£', JPY: '¥' };

/**
 * Money from a decimal string (the billing module's exact amounts) for display. Small amounts keep
 * more digits so a cheap machine's cost per hour is not shown as $0.00.
 */
export function money(amount: string | number | null | undefined, currency = 'USD'): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  const value = typeof amount === 'number' ? amount : Number(amount);
  if (!Number.isFinite(value)) return '—';
  const symbol = CURRENCY_SYMBOLS[currency];
  const abs = Math.abs(value);
  // Amounts are exact to 0.000001: tiny ones (a small machine's first minutes) keep all six places.
  const digits = abs === 0 ? 2 : abs < 0.0001 ? 6 : abs < 0.01 ? 4 : abs < 1 ? 3 : 2;
  const text = abs >= 1e6 ? abs.toLocaleString('en-US', { maximumFractionDigits: 0 }) : abs.toFixed(digits);
  const sign = value < 0 ? '-' : '';
  return symbol ? `${sign}${symbol}${text}` : `${sign}${text} ${currency}`;
}

/** "4s ago", "3m ago", "2h ago", "5d ago"; "never" when unknown. */
export function ago(then: number | null | undefined, now: number): string {
  if (then === null || then === undefined) return 'never';
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A duration in seconds as "45s", "3m20s", "2h05m", "∞" for Infinity, "—" when unknown. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  if (!Number.isFinite(seconds)) return '∞';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** Counts with thousands separators: 12,345. "—" when unknown. */
export function count(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** A rate per second: "123/s", "1.5/s", "0/s". */
export function rate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0/s';
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

/** Usage quantities (core-hours, GiB-hours): three significant-ish decimals. */
export function quantity(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** The wall clock as HH:MM:SS, local time. */
export function clock(now: number): string {
  return new Date(now).toTimeString().slice(0, 8);
}

/** The first of several renderings, most detailed first, that fits `width`; else the last, cut. */
export function firstThatFits(candidates: readonly string[], width: number): string {
  for (const c of candidates) if (textWidth(c) <= width) return c;
  return truncate(candidates[candidates.length - 1] ?? '', width);
}

/**
 * A budget's forecast as a bar: filled to the forecast, a mark at 100%, the scale stretching to 150%
 * so an overrun shows by how much. ASCII where the terminal may not draw block characters.
 */
export function budgetBar(forecastPercent: number, width = 20, ascii = false): string {
  const [full, empty, limit] = ascii ? ['#', '.', '|'] : ['█', '·', '┃'];
  const scale = Math.max(100, Math.min(forecastPercent, 150));
  const filled = Math.round((Math.min(Math.max(0, forecastPercent), scale) / scale) * width);
  const mark = Math.round((100 / scale) * width);
  let bar = '';
  for (let i = 0; i < width; i++) bar += i === mark ? limit : i < filled ? full : empty;
  return bar;
}
