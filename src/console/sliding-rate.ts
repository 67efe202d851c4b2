// Events per second over a sliding window, from events that arrive in batches (the live tail reads
// about a second of samples at a time). Measured from batch to batch: the events of the batches after
// the window's first, over the time since it, so a steady stream reads steady whatever the batch
// sizes and wherever the window's edges fall.

export class SlidingRate {
  /** Running totals at each batch's arrival, oldest first. */
  private readonly points: Array<{ at: number; total: number }> = [];
  private total = 0;

  constructor(private readonly windowMs = 10_000) {}

  /** `count` events arrived at `at`. */
  record(at: number, count: number): void {
    this.total += count;
    this.points.push({ at, total: this.total });
    this.trim(at);
  }

  /** Keeps the newest point at or before the window's start (the anchor) and every one after. */
  private trim(now: number): void {
    const start = now - this.windowMs;
    let drop = 0;
    while (drop + 1 < this.points.length && this.points[drop + 1]!.at <= start) drop++;
    if (drop > 0) this.points.splice(0, drop);
  }

  /** Per second; null until two batches have arrived; falls to 0 when they stop coming. */
  rate(now: number): number | null {
    this.trim(now);
    const first = this.points[0];
    const last = this.points[this.points.length - 1];
    if (!first || !last || first === last) return this.points.length === 1 && now - first!.at > this.windowMs ? 0 : null;
    // Nothing for longer than the usual spacing of batches: the silence counts too.
    let spacing = 0;
    for (let i = 1; i < this.points.length; i++) spacing = Math.max(spacing, this.points[i]!.at - this.points[i - 1]!.at);
    const end = Math.max(last.at, now - spacing);
    return ((last.total - first.total) * 1000) / (end - first.at);
  }
}
