// Events per second over a sliding window, from events that arrive in batches (the live tail reads
// about a second of samples at a time, and a fleet's agents publish a burst each interval, which
// arrives as many batches). Batches close together form one arrival, placed at the mean time of its
// events; the rate is the events of the arrivals after the window's first over the time between
// them. So a steady stream reads steady, and bursts count whole, wherever the window's edges fall.

interface Arrival {
  /** Mean arrival time of its events. */
  at: number;
  /** Running total of events up to and including this arrival. */
  total: number;
  count: number;
  firstBatch: number;
  lastBatch: number;
}

export class SlidingRate {
  private readonly arrivals: Arrival[] = [];
  private total = 0;

  constructor(
    private readonly windowMs = 30_000,
    /** A batch this soon after the previous one belongs to the same arrival... */
    private readonly mergeMs = 700,
    /** ...unless the arrival has lasted this long already (a steady stream is not one arrival). */
    private readonly maxArrivalMs = 2000,
  ) {}

  /** `count` events arrived at `at`. */
  record(at: number, count: number): void {
    if (count <= 0) return;
    this.total += count;
    const last = this.arrivals[this.arrivals.length - 1];
    if (last && at - last.lastBatch <= this.mergeMs && at - last.firstBatch <= this.maxArrivalMs) {
      last.at = (last.at * last.count + at * count) / (last.count + count);
      last.count += count;
      last.total = this.total;
      last.lastBatch = at;
    } else {
      this.arrivals.push({ at, total: this.total, count, firstBatch: at, lastBatch: at });
    }
    this.trim(at);
  }

  /** Keeps the newest arrival at or before the window's start (the anchor) and every one after. */
  private trim(now: number): void {
    const start = now - this.windowMs;
    let drop = 0;
    while (drop + 1 < this.arrivals.length && this.arrivals[drop + 1]!.at <= start) drop++;
    if (drop > 0) this.arrivals.splice(0, drop);
  }

  /** Per second; null until two arrivals; falls to 0 when they stop coming. */
  rate(now: number): number | null {
    this.trim(now);
    const first = this.arrivals[0];
    const last = this.arrivals[this.arrivals.length - 1];
    if (!first || !last) return null;
    if (first === last) return now - last.lastBatch > this.windowMs ? 0 : null;
    // Nothing for longer than the usual spacing of arrivals: the silence counts too.
    let spacing = 0;
    for (let i = 1; i < this.arrivals.length; i++) spacing = Math.max(spacing, this.arrivals[i]!.at - this.arrivals[i - 1]!.at);
    const end = Math.max(last.at, now - spacing);
    return ((last.total - first.total) * 1000) / (end - first.at);
  }
}
