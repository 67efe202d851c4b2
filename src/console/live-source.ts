// Which live source the console reads its machines' recent samples from, and making it: the samples
// the workers accepted into a SQLite ledger (ledger-tail.ts), or every message of the topic
// (tail-store.ts). Both keep the same traces (machine-traces.ts); the hub does not know which it has.
import type { Kafka } from 'kafkajs';
import { UsageError } from '../cli/errors.js';
import { isPostgresUrl } from '../ledger/postgres/url.js';
import { LedgerTail } from './ledger-tail.js';
import type { LiveSource, TraceOptions } from './machine-traces.js';
import { TopicTail } from './tail-store.js';

export type LiveFrom = 'ledger' | 'topic';

/** Milliseconds between the ledger tail's reads: the screen's pace is 1.5 s, a key's redraw at once. */
const LIVE_POLL_MS = 1000;
/** A one-shot's: it ends as soon as it has read what was there. */
const EAGER_LIVE_POLL_MS = 50;

/**
 * The console's live source for a --ledger: its accepted samples when it is SQLite (one host's
 * workers write it in commit order), the topic when it is PostgreSQL (no such order to read by).
 * Asking for the ledger with PostgreSQL is refused in one line.
 */
export function resolveLiveFrom(ledgerPath: string, asked?: LiveFrom): LiveFrom {
  const postgres = isPostgresUrl(ledgerPath);
  if (asked === 'ledger' && postgres) {
    throw new UsageError('--live-from ledger: a PostgreSQL ledger has no commit order to read new samples by; its console reads the topic (--live-from topic, the default there)');
  }
  return asked ?? (postgres ? 'topic' : 'ledger');
}

export interface LiveSourceOptions extends TraceOptions {
  kafka: Kafka;
  topic: string;
  ledgerPath: string;
  /** How far back to start: by ingestion time in the ledger, by message time in the topic. */
  backfillMs: number;
  /** A one-shot: read what is there at once. */
  eagerTail?: boolean;
}

export function liveSource(from: LiveFrom, o: LiveSourceOptions): LiveSource {
  const traces: TraceOptions = { maxPoints: o.maxPoints, onChange: o.onChange, now: o.now };
  if (from === 'ledger') {
    return new LedgerTail({ ...traces, path: o.ledgerPath, backfillMs: o.backfillMs, pollMs: o.eagerTail ? EAGER_LIVE_POLL_MS : LIVE_POLL_MS });
  }
  return new TopicTail({ ...traces, kafka: o.kafka, topic: o.topic, backfillMs: o.backfillMs, eager: o.eagerTail });
}
