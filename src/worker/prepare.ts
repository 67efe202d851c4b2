// The pure part of the billing worker: turns a batch of Kafka messages into ledger rows and DLQ
// entries. No I/O here, so it is tested without a broker.
//
// Event time: whether a sample is from the future or too late is judged against its message's Kafka
// timestamp (src/billing/acceptance.ts), never the worker's clock, so the same log consumed on any
// day accepts the same samples. Prices are not applied here: the ledger keeps usage, and invoices
// price it with the price version in force at each hour.
import { checkSample, type RejectCode, type Sample, type SampleUsage } from '../schema/sample.js';
import { LabelsByMachine, newLayoutScan, sameBytes, scanAgentLayout, type AgentLayoutScan } from '../schema/sample-layout.js';
import { canonicalLabels, emptyRows, splitId, type LedgerReject, type SampleRows } from '../ledger/index.js';
import { splitIdBytes } from '../ledger/rows.js';
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

/** An accepted sample as the ledger's row takes it, whichever way it was read. */
interface Row extends SampleUsage {
  run: string;
  seq: number;
  whole: 0 | 1;
  machine: string;
  /** Canonical JSON of its labels. */
  labels: string;
}

/** The row of a checkSample()-accepted sample. */
function checkedRow(s: Sample): Row {
  const { run, seq, whole } = splitId(s.id);
  const { cores, busySeconds } = s.cpu;
  const { totalBytes, usedBytes } = s.mem;
  return { run, seq, whole, machine: s.machine, labels: canonicalLabels(s.labels), start: s.start, end: s.end, cores, busySeconds, totalBytes, usedBytes };
}

export class BatchPreparer {
  /** Each machine's last labels as canonical JSON: machines rarely change labels. */
  private readonly labelsOf = new LabelsByMachine(canonicalLabels);
  /** Each machine's last id run, by its bytes: decoding every id was ~0.3 us a message (a tenth of this file's time). */
  private readonly runOf = new Map<string, { bytes: Uint8Array; run: string }>();
  private readonly scan: AgentLayoutScan = newLayoutScan();
  /** Messages read from the agents' layout, and through checkSample (for the tests and the curious). */
  layoutReads = 0;
  checkedReads = 0;
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
      // The agents' layout is read from the bytes (src/schema/sample-layout.ts); anything else, and
      // every message that breaks a rule, goes through checkSample, which names the rule.
      let row = message.value && scanAgentLayout(message.value, message.key, limits, this.scan) ? this.layoutRow(message.value, key!) : null;
      if (row) this.layoutReads++;
      else {
        this.checkedReads++;
        const check = checkSample(message.value, key, limits);
        if (!check.ok) {
          reject(message, offset, check.code, check.reason);
          continue;
        }
        row = checkedRow(check.sample);
      }
      const time = checkEventTime(row, ts, this.window, eventTime);
      if (!time.ok) {
        reject(message, offset, time.code, time.reason);
        continue;
      }
      samples.runs.push(row.run);
      samples.machines.push(row.machine);
      samples.labels.push(row.labels);
      samples.values.push(offset, row.start, row.end, row.cores, busyMicros(row.busySeconds), row.usedBytes, row.totalBytes, row.seq, row.whole);
    }
    return { samples, rejects, maxTimestamp };
  }

  /** The row of the sample this.scan found in `value`; null when its labels are not JSON (checkSample() then says so). */
  private layoutRow(value: Buffer, machine: string): Row | null {
    const scan = this.scan;
    const labels = this.labelsOf.get(machine, value, scan);
    if (labels === undefined) return null;
    const { runEnd, seq, whole } = splitIdBytes(value, scan.idStart, scan.idEnd);
    let known = this.runOf.get(machine);
    if (!known || !sameBytes(value, scan.idStart, runEnd, known.bytes)) {
      known = { bytes: Uint8Array.prototype.slice.call(value, scan.idStart, runEnd), run: value.toString('utf8', scan.idStart, runEnd) };
      if (this.runOf.size >= 100_000) this.runOf.clear();
      this.runOf.set(machine, known);
    }
    const run = known.run;
    const { start, end, cores, busySeconds, totalBytes, usedBytes } = scan;
    return { run, seq, whole, machine, labels, start, end, cores, busySeconds, totalBytes, usedBytes };
  }
}
