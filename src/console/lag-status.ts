// Consumer-lag status per partition, after Burrow's evaluation rules
// (https://github.com/linkedin/Burrow/wiki/Consumer-Lag-Evaluation-Rules), adapted to what the
// admin API lets us see: we poll the group's committed offsets and the topic's end offsets every few
// seconds, and keep a sliding window of those observations per partition.
//
// Burrow's rules, as applied here, in order:
//   1. No committed offset yet and nothing to read        -> OK.
//      No committed offset yet but messages on the topic  -> STOP (nothing ever committed).
//   2. The lag was zero at any observation in the window   -> OK (the consumer caught up).
//   3. The committed offset moved backwards                -> WARN (a rewind: offsets were reset).
//   4. The committed offset did not move over the whole window (and lag > 0 throughout):
//        - a live member of the group owns the partition   -> STALL (consuming, but stuck)
//        - nobody owns it                                  -> STOP  (no commits: the consumer is gone)
//      Burrow tells these apart by commit timestamps, which the admin API does not expose; group
//      membership is the observable stand-in for "the consumer is still committing".
//   5. The committed offset advanced, but the lag never went down between two observations and is
//      higher at the end than at the start                -> WARN (falling behind).
//   6. Otherwise                                           -> OK.
// A verdict of STALL or STOP needs the window to be covered (observations spanning it), so a console
// that has just started does not cry wolf.

export type LagStatus = 'OK' | 'WARN' | 'STALL' | 'STOP';

export interface OffsetObservation {
  /** When the offsets were read (epoch ms). */
  at: number;
  /** The group's committed offset, null when the group has none for the partition. */
  committed: number | null;
  /** The partition's end offset (high watermark). */
  end: number;
  /** Whether a live member of the group had the partition assigned at that moment. */
  owned: boolean;
}

export interface PartitionVerdict {
  status: LagStatus;
  /** One short phrase: why this status. */
  reason: string;
  /** end - committed at the last observation; null when nothing is committed. */
  lag: number | null;
  /** Messages per second committed over the window. */
  consumeRate: number | null;
  /** Messages per second produced over the window. */
  produceRate: number | null;
  /** Seconds until lag reaches zero at the current rates: 0 when caught up, Infinity when never. */
  catchUpSeconds: number | null;
}

export function lagOf(o: Pick<OffsetObservation, 'committed' | 'end'>): number | null {
  return o.committed === null ? null : Math.max(0, o.end - o.committed);
}

/**
 * Evaluates one partition. `observations` are oldest first; the window is the last `windowMs` of them
 * (from the newest observation at or before its start). STALL and STOP need the window covered.
 */
export function evaluatePartition(observations: readonly OffsetObservation[], windowMs: number): PartitionVerdict {
  const last = observations[observations.length - 1];
  if (!last) {
    return { status: 'OK', reason: 'no data yet', lag: null, consumeRate: null, produceRate: null, catchUpSeconds: null };
  }
  // The window starts at the newest observation at or before (last - windowMs), when there is one.
  let startIndex = 0;
  for (let i = observations.length - 1; i >= 0; i--) {
    if (observations[i]!.at <= last.at - windowMs) {
      startIndex = i;
      break;
    }
  }
  const window = observations.slice(startIndex);
  const first = window[0]!;
  const spanMs = last.at - first.at;
  const covered = spanMs >= windowMs;
  const lag = lagOf(last);

  const committedInWindow = window.filter((o) => o.committed !== null);
  const firstCommitted = committedInWindow[0];
  let consumeRate: number | null = null;
  let produceRate: number | null = null;
  if (spanMs > 0) {
    produceRate = Math.max(0, (last.end - first.end) / (spanMs / 1000));
    if (firstCommitted && last.committed !== null && last.at > firstCommitted.at) {
      consumeRate = Math.max(0, (last.committed - firstCommitted.committed!) / ((last.at - firstCommitted.at) / 1000));
    }
  }
  let catchUpSeconds: number | null = null;
  if (lag === 0) catchUpSeconds = 0;
  else if (lag !== null && consumeRate !== null && produceRate !== null) {
    catchUpSeconds = consumeRate > produceRate ? lag / (consumeRate - produceRate) : Infinity;
  }
  const verdict = (status: LagStatus, reason: string): PartitionVerdict => ({
    status,
    reason,
    lag,
    consumeRate,
    produceRate,
    catchUpSeconds,
  });

  // Rule 1.
  if (last.committed === null) {
    if (last.end === 0) return verdict('OK', 'nothing to consume');
    return covered || !last.owned ? verdict('STOP', 'nothing committed') : verdict('OK', 'waiting for a first commit');
  }
  // Rule 2.
  if (window.some((o) => lagOf(o) === 0)) return verdict('OK', 'caught up');
  // Rule 3.
  for (let i = 1; i < committedInWindow.length; i++) {
    if (committedInWindow[i]!.committed! < committedInWindow[i - 1]!.committed!) return verdict('WARN', 'offset rewound');
  }
  // Rule 4.
  const moved = committedInWindow.some((o) => o.committed !== last.committed);
  if (!moved) {
    if (!covered || committedInWindow.length < 2) return verdict('OK', 'watching');
    return window.some((o) => o.owned) ? verdict('STALL', 'offset not moving') : verdict('STOP', 'no commits, no owner');
  }
  // Rule 5.
  const lags = committedInWindow.map((o) => lagOf(o)!);
  let neverDown = true;
  for (let i = 1; i < lags.length; i++) if (lags[i]! < lags[i - 1]!) neverDown = false;
  if (lags.length >= 3 && neverDown && lags[lags.length - 1]! > lags[0]!) return verdict('WARN', 'lag growing');
  // Rule 6.
  return verdict('OK', 'consuming');
}

/** Worst status first, for sorting and for the header's one-word summary. */
export const STATUS_RANK: Record<LagStatus, number> = { STOP: 3, STALL: 2, WARN: 1, OK: 0 };

export function worstStatus(statuses: Iterable<LagStatus>): LagStatus {
  let worst: LagStatus = 'OK';
  for (const s of statuses) if (STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  return worst;
}

/**
 * Keeps the observation window per partition. Pure bookkeeping: the admin store feeds it what it
 * read, and asks for verdicts.
 */
export class OffsetHistory {
  private readonly byPartition = new Map<number, OffsetObservation[]>();

  constructor(private readonly keepMs: number) {}

  record(partition: number, observation: OffsetObservation): void {
    let list = this.byPartition.get(partition);
    if (!list) this.byPartition.set(partition, (list = []));
    list.push(observation);
    const horizon = observation.at - this.keepMs;
    let drop = 0;
    // Keep one observation older than the horizon, so the window's start is always covered.
    while (drop < list.length - 1 && list[drop + 1]!.at <= horizon) drop++;
    if (drop > 0) list.splice(0, drop);
  }

  observations(partition: number): readonly OffsetObservation[] {
    return this.byPartition.get(partition) ?? [];
  }

  /** Forgets partitions that no longer exist. */
  retain(partitions: Iterable<number>): void {
    const keep = new Set(partitions);
    for (const p of [...this.byPartition.keys()]) if (!keep.has(p)) this.byPartition.delete(p);
  }
}
