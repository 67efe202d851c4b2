// Event time: whether a sample is from the future or too late is judged against its Kafka message's
// timestamp, never the worker's clock, so consuming the same log into a fresh ledger on any day
// accepts exactly the same samples and gives the same invoice.
//
// The window (defaults as Stripe's: 5 minutes ahead, 35 days back):
//   future    the sample's window ends more than `aheadMs` after its message's timestamp
//   too-late  the sample's window starts more than `backMs` before its message's timestamp
// A message's timestamp is the producer's CreateTime or the broker's LogAppendTime, whichever the
// topic uses; either is fixed once the message is in the log.
import { DAY_MS } from './dates.js';

export interface AcceptanceWindow {
  /** How far past its message's timestamp a sample's window may end. */
  aheadMs: number;
  /** How far before its message's timestamp a sample's window may start. */
  backMs: number;
}

export const DEFAULT_ACCEPTANCE_WINDOW: Readonly<AcceptanceWindow> = Object.freeze({ aheadMs: 5 * 60_000, backMs: 35 * DAY_MS });

export type EventTimeRejectCode = 'future' | 'too-late' | 'no-timestamp';

export type EventTimeCheck = { ok: true } | { ok: false; code: EventTimeRejectCode; reason: string };

/**
 * A Kafka message timestamp (kafkajs gives a string of epoch ms) as a number, or undefined when the
 * message has none (-1, from an old message format) or it is not an integer.
 */
export function parseMessageTimestamp(timestamp: string | number | undefined): number | undefined {
  // (Called for every message the worker reads: the usual cases without a regular expression.)
  if (typeof timestamp === 'number') return Number.isSafeInteger(timestamp) && timestamp >= 0 ? timestamp + 0 : undefined;
  if (timestamp !== undefined && timestamp.length > 0 && timestamp.length <= 15 && allDigits(timestamp)) return Number(timestamp);
  const text = (timestamp ?? '').trim();
  if (!/^\d+$/.test(text)) return undefined;
  const ms = Number(text);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

function allDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const duration = (ms: number): string =>
  ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

export interface EventTimeOptions {
  /**
   * Raw samples starting before this instant have been pruned from the ledger, so their ids are no
   * longer there to catch a repeat: such a sample is refused as too late whatever its timestamp.
   */
  prunedBefore?: number;
}

/** Whether a sample window [start, end) is accepted, judged only against its message's timestamp. */
export function checkEventTime(
  sample: { start: number; end: number },
  messageTimestamp: string | number | undefined,
  window: AcceptanceWindow = DEFAULT_ACCEPTANCE_WINDOW,
  options: EventTimeOptions = {},
): EventTimeCheck {
  const ts = parseMessageTimestamp(messageTimestamp);
  if (ts === undefined) {
    return { ok: false, code: 'no-timestamp', reason: 'the message has no timestamp to judge its window against' };
  }
  if (sample.end > ts + window.aheadMs) {
    return { ok: false, code: 'future', reason: `window ends more than ${duration(window.aheadMs)} after its message's timestamp` };
  }
  if (sample.start < ts - window.backMs) {
    return { ok: false, code: 'too-late', reason: `window starts more than ${duration(window.backMs)} before its message's timestamp` };
  }
  if (options.prunedBefore !== undefined && sample.start < options.prunedBefore) {
    return { ok: false, code: 'too-late', reason: `window starts before ${new Date(options.prunedBefore).toISOString()}, whose raw samples were pruned` };
  }
  return { ok: true };
}

/**
 * The instant before which raw samples (and so their ids) may be pruned, given the latest message
 * timestamp the ledger has seen: a sample starting before it would be refused as too late by any
 * message within `marginMs` of that timestamp. The margin covers timestamps that are not monotonic
 * across producers (clock skew, spooled replays); anything older still is refused via prunedBefore.
 */
export function pruneHorizon(latestMessageTimestamp: number, window: AcceptanceWindow = DEFAULT_ACCEPTANCE_WINDOW, marginMs = DAY_MS): number {
  return latestMessageTimestamp - window.backMs - marginMs;
}
