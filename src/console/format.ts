// The console's own formatting: numbers to short strings (money, percentages, ages, durations, rates)
// and sparklines. Text measuring, truncation, thousands and tables are src/format's, shared with the
// other commands.
import { thousands } from '../format/index.js';

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
  const text = abs >= 1e6 ? thousands(abs) : abs.toFixed(digits);
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

/** A rate per second: "123/s", "1.5/s", "0/s". */
export function rate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0/s';
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${thousands(perSecond)}/s`;
}

/** Usage quantities (core-hours, GiB-hours): three significant-ish decimals. */
export function quantity(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return thousands(value);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** The wall clock as HH:MM:SS, local time. */
export function clock(now: number): string {
  return new Date(now).toTimeString().slice(0, 8);
}
