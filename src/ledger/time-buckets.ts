// The ledger's time buckets: a sample belongs to the UTC hour (and month) in which its window starts,
// and a time range is answered by whole months, whole hours and raw samples at its ragged ends.

export const HOUR_MS = 3_600_000;

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

export function monthOf(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonth(monthStart: number): number {
  const d = new Date(monthStart);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** A time range split by what can answer it exactly: whole months, whole hours, raw samples. */
export interface RangeParts {
  months: [number, number][];
  hours: [number, number][];
  raw: [number, number][];
}

export function splitRange(from: number, to: number): RangeParts {
  const parts: RangeParts = { months: [], hours: [], raw: [] };
  if (to <= from) return parts;
  const h0 = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const h1 = hourOf(to);
  if (h0 >= h1) {
    parts.raw.push([from, to]);
    return parts;
  }
  if (from < h0) parts.raw.push([from, h0]);
  let m0 = monthOf(h0);
  if (m0 < h0) m0 = nextMonth(m0);
  const m1 = monthOf(h1);
  if (m0 < m1) {
    if (h0 < m0) parts.hours.push([h0, m0]);
    parts.months.push([m0, m1]);
    if (m1 < h1) parts.hours.push([m1, h1]);
  } else {
    parts.hours.push([h0, h1]);
  }
  if (h1 < to) parts.raw.push([h1, to]);
  return parts;
}

/** Month starts of hour starts, cached: a batch's samples fall in a handful of hours. */
export class MonthOfHour {
  private readonly cache = new Map<number, number>();

  get(hour: number): number {
    let month = this.cache.get(hour);
    if (month === undefined) {
      month = monthOf(hour);
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hour, month);
    }
    return month;
  }
}
