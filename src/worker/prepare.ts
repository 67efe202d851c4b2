// The pure part of the billing worker: turns a batch of Kafka messages into ledger rows and DLQ
// entries. No I/O here, so it is tested without a broker.
//
// Event time: whether a sample is from the future or too late is judged against its message's Kafka
// timestamp (src/billing/acceptance.ts), never the worker's clock, so the same log consumed on any
// day accepts the same samples. Prices are not applied here: the ledger keeps usage, and invoices
// price it with the price version in force at each hour.
import { checkSample, type RejectCode } from '../schema/sample.js';
import { canonicalLabels, emptyRows, splitId, type LedgerReject, type SampleRows } from '../ledger/index.js';
import { busyMicros } from '../billing/money.js';
import { DEFAULT_ACCEPTANCE_WINDOW, checkEventTime, parseMessageTimestamp, type AcceptanceWindow } from '../billing/acceptance.js';

/** What the worker needs of a kafkajs message. */
export interface IncomingMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Epoch ms as a string (CreateTime or LogAppendTime); "-1" or missing when the message has none. */
  timestamp?: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** An invalid message, with everything the DLQ entry needs. */
export interface Rejected extends LedgerReject {
  code: RejectCode;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IncomingMessage['headers'];
  /** The message's Kafka timestamp, kept with it on the DLQ. */
  timestamp?: string;
}

/** A message to refuse whatever it holds: its sample's id is billed with another body (found by the ledger). */
export interface ForcedReject {
  code: RejectCode;
  reason: string;
}

export interface PreparedBatch {
  samples: SampleRows;
  rejects: Rejected[];
  /** The latest message timestamp in the batch (0 when none has one). */
  maxTimestamp: number;
}

/** The labels a machine sent last, and their canonical JSON: machines rarely change labels. */
interface KnownLabels {
  labels: Record<string, string>;
  count: number;
  json: string;
}

function sameLabels(a: Record<string, string>, known: KnownLabels): boolean {
  let count = 0;
  for (const k in a) {
    if (known.labels[k] !== a[k]) return false;
    count++;
  }
  return count === known.count;
}

export class BatchPreparer {
  private readonly labelsByMachine = new Map<string, KnownLabels>();
  /**
   * Raw samples starting before this were pruned from the ledger, so a repeat of one would not be
   * recognised: such samples are refused as too late. Raised as the ledger reports its horizon.
   */
  prunedBefore = 0;

  constructor(private readonly window: AcceptanceWindow = DEFAULT_ACCEPTANCE_WINDOW) {}

  /** Validates every message, judging event time by its timestamp; `forced` refuses offsets the ledger found conflicting. */
  prepare(messages: IncomingMessage[], forced?: ReadonlyMap<number, ForcedReject>): PreparedBatch {
    const samples = emptyRows();
    const rejects: Rejected[] = [];
    const limits = { lateLimitMs: this.window.backMs };
    const eventTime = { prunedBefore: this.prunedBefore || undefined };
    let maxTimestamp = 0;
    const reject = (message: IncomingMessage, offset: number, code: RejectCode, reason: string) =>
      rejects.push({ offset, code, reason, key: message.key, value: message.value, headers: message.headers, timestamp: message.timestamp });
    for (const message of messages) {
      const offset = Number(message.offset);
      const ts = parseMessageTimestamp(message.timestamp);
      if (ts !== undefined && ts > maxTimestamp) maxTimestamp = ts;
      const force = forced?.get(offset);
      if (force) {
        reject(message, offset, force.code, force.reason);
        continue;
      }
      const key = message.key === null ? null : message.key.toString('utf8');
      const check = checkSample(message.value, key, limits);
      if (!check.ok) {
        reject(message, offset, check.code, check.reason);
        continue;
      }
      const s = check.sample;
      const time = checkEventTime(s, ts ?? message.timestamp, this.window, eventTime);
      if (!time.ok) {
        reject(message, offset, time.code, time.reason);
        continue;
      }
      let known = this.labelsByMachine.get(s.machine);
      if (!known || !sameLabels(s.labels, known)) {
        known = { labels: s.labels, count: Object.keys(s.labels).length, json: canonicalLabels(s.labels) };
        if (this.labelsByMachine.size > 100_000) this.labelsByMachine.clear();
        this.labelsByMachine.set(s.machine, known);
      }
      const { run, seq, whole } = splitId(s.id);
      samples.runs.push(run);
      samples.machines.push(s.machine);
      samples.labels.push(known.json);
      samples.values.push(offset, s.start, s.end, s.cpu.cores, busyMicros(s.cpu.busySeconds), s.mem.usedBytes, s.mem.totalBytes, seq, whole);
    }
    return { samples, rejects, maxTimestamp };
  }
}
