// Samples per second over a sliding window of 30 s (or longer, below), for the status line and the
// progress log. 30 s as Kafka's own clients measure their rates (metrics.sample.window.ms): a burst
// that comes a second late moves a 30 s reading by 3%, a 10 s one by 10%.
//
// The count moves only when a batch is applied, so the meter is told at each batch (observe), and the
// window's edges are batches. A simulated fleet publishes in bursts (an agent sends a whole interval's
// samples at once), and a window cut at fixed instants counts a burst more or less depending on where
// its edges fall: it read 2,499/s for a steady 2,000/s (10,000 samples every 5 s, in a 4 s span). So
// each edge is moved back to the end of a burst: to the last batch before a pause of at least half the
// rhythm, when there is one within two rhythms of the edge. The rhythm is the longest gap between
// batches over the last two windows, up to a window (a longer gap is a pause, not a rhythm), and the
// window is at least two rhythms long. Then the window holds whole bursts over the time they took,
// whatever the agents' interval. A steady stream has no bursts: its rhythm is the gap between
// batches, and its edges move by less than that.
//
// Two bounds keep it honest when the flow starts or stops: the window starts no earlier than two
// rhythms before its nominal start (a pause before the flow is not spread over it), and silence after
// the latest batch longer than two rhythms counts as time with nothing, so the rate falls to 0 when
// samples stop.
interface RateEvent {
  t: number;
  n: number;
}

export class RateMeter {
  private readonly events: RateEvent[] = [];

  constructor(private readonly windowMs = 30_000) {}

  /** The running total after a batch (or at start), at time `now` (ms). */
  observe(total: number, now: number): void {
    const last = this.events.at(-1);
    if (last && last.t === now) last.n = total;
    else this.events.push({ t: now, n: total });
    // Keep what the longest window needs (two windows, and an edge moved back by two rhythms of at
    // most a window each), and the newest event before that.
    const keepFrom = now - 4 * this.windowMs;
    let drop = 0;
    while (drop + 1 < this.events.length && this.events[drop + 1]!.t <= keepFrom) drop++;
    if (drop > 0) this.events.splice(0, drop);
  }

  /** Per second, over the window ending at `now`. */
  rate(now: number): number {
    const e = this.events;
    const last = e.length - 1;
    if (last < 0) return 0;
    // The rhythm: the longest gap between batches over the last two windows, up to a window (longer is a pause).
    let rhythm = 0;
    for (let j = last; j > 0 && e[j]!.t > now - 2 * this.windowMs; j--) {
      const gap = e[j]!.t - e[j - 1]!.t;
      if (gap <= this.windowMs && gap > rhythm) rhythm = gap;
    }
    // Long enough to hold whole bursts.
    const cutoff = now - Math.max(this.windowMs, 2 * rhythm);
    if (e[last]!.t <= cutoff) return 0;
    let atCutoff = 0;
    while (atCutoff + 1 <= last && e[atCutoff + 1]!.t <= cutoff) atCutoff++;
    // The gap after event k (for the newest, the silence until now).
    const gapAfter = (k: number) => (k < last ? e[k + 1]!.t : now) - e[k]!.t;
    /** The last batch at or before index k that ends a burst, within two rhythms of it; else k itself. */
    const burstEnd = (k: number) => {
      for (let j = k; j >= 0 && e[j]!.t >= e[k]!.t - 2 * rhythm; j--) if (gapAfter(j) >= rhythm / 2) return j;
      return k;
    };
    const start = e[burstEnd(atCutoff)]!;
    const end = e[burstEnd(last)]!;
    const from = Math.max(start.t, cutoff - 2 * rhythm);
    const to = Math.max(end.t, now - 2 * rhythm);
    return end.t > start.t && to > from ? ((end.n - start.n) * 1000) / (to - from) : 0;
  }
}
