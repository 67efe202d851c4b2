// Dates on the command line (--period, --from, --to, --effective) and billing periods, strictly.
//
// Date.parse rolls impossible dates over ("2026-02-31" becomes 3 March) and reads a two-digit year
// as 19xx, so a typo would silently bill the wrong range. Here every field is checked against the
// calendar (leap years included) before a single millisecond is computed, and anything else is a
// one-line usage error naming the flag and what was wrong.
import { UsageError } from '../cli/errors.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Start of the hour containing `ms`. */
export const hourStart = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** `ms` itself when it starts an hour, else the start of the next hour. */
export const hourCeil = (ms: number): number => Math.ceil(ms / HOUR_MS) * HOUR_MS;

/** A billing period: a UTC calendar month [from, to). */
export interface BillingPeriod {
  from: number;
  to: number;
  /** YYYY-MM */
  label: string;
}

const MONTH_NAMES = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

/** Days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Epoch ms of a UTC calendar instant; setUTCFullYear, unlike Date.UTC, keeps years below 100 as given. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, ms);
  return d.getTime();
}

/** Start of the UTC month containing `ms`. */
export function monthStart(ms: number): number {
  const d = new Date(ms);
  return utc(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** Start of the UTC month after the one containing `ms`. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return utc(d.getUTCFullYear(), d.getUTCMonth() + 2, 1);
}

/** The billing period (UTC calendar month) containing `ms`. */
export function periodOf(ms: number): BillingPeriod {
  const from = monthStart(ms);
  return { from, to: nextMonthStart(from), label: new Date(from).toISOString().slice(0, 7) };
}

/** The billing periods that [from, to) touches, in order (none when the range is empty). */
export function periodsCovering(from: number, to: number): BillingPeriod[] {
  const periods: BillingPeriod[] = [];
  if (!(to > from)) return periods;
  for (let start = monthStart(from); start < to; start = nextMonthStart(start)) periods.push(periodOf(start));
  return periods;
}

const INSTANT_EXAMPLE = 'give e.g. 2026-11-01 or 2026-11-01T12:00:00Z (UTC unless an offset is given)';

function refuse(flag: string, value: string, why: string, example: string): never {
  throw new UsageError(`--${flag}: ${JSON.stringify(value)} ${why}; ${example}`);
}

/** Checks year/month/day against the calendar; returns why not, or undefined when it is a real date. */
function calendarProblem(year: number, month: number, day?: number): string | undefined {
  if (month < 1 || month > 12) return `has no month ${month}`;
  if (day === undefined) return undefined;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `is not a date: ${MONTH_NAMES[month - 1]} ${year} has ${days} days`;
  return undefined;
}

/** --period: a month, YYYY-MM, checked strictly (2026-13 is refused). */
export function parsePeriod(flag: string, value: string): BillingPeriod {
  const example = 'give YYYY-MM, e.g. 2026-11';
  const m = /^(\d{4})-(\d{2})$/.exec(value.trim());
  if (!m) refuse(flag, value, 'is not a month', example);
  const problem = calendarProblem(Number(m[1]), Number(m[2]));
  if (problem) refuse(flag, value, problem, example);
  return periodOf(utc(Number(m[1]), Number(m[2]), 1));
}

const INSTANT = /^(\d{4})-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?)?$/i;

/**
 * --from, --to, --effective, --now: an ISO 8601 date or date-time, UTC unless it carries an offset.
 * YYYY-MM is the first of the month. Every field must exist on the calendar: 2026-02-31, 24:00 and
 * 12:60 are refused, never rolled over.
 */
export function parseInstant(flag: string, value: string): number {
  const m = INSTANT.exec(value.trim());
  if (!m) refuse(flag, value, 'is not an ISO date', INSTANT_EXAMPLE);
  const [, y, mo, d, h, mi, s, frac, offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = d === undefined ? 1 : Number(d);
  const problem = calendarProblem(year, month, day);
  if (problem) refuse(flag, value, problem, INSTANT_EXAMPLE);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (hour > 23 || minute > 59 || second > 59) {
    refuse(flag, value, 'is not a time of day: hours go to 23, minutes and seconds to 59', INSTANT_EXAMPLE);
  }
  let offsetMinutes = 0;
  if (offset !== undefined && offset.toUpperCase() !== 'Z') {
    const oh = Number(offset.slice(1, 3));
    const om = Number(offset.slice(4, 6));
    if (oh > 23 || om > 59) refuse(flag, value, `has no UTC offset ${offset}`, INSTANT_EXAMPLE);
    offsetMinutes = (offset[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0'));
  return utc(year, month, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}
