// The pure part of the billing worker: turns a batch of Kafka messages into ledger rows and DLQ
// entries. No I/O here, so it is tested without a broker.
import { checkSample, type RejectCode } from '../schema/sample.js';
import { canonicalLabels, type LedgerReject, type LedgerSample } from '../ledger/index.js';
import { basePrice, flatCostMicros } from '../billing/rating.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, busyMicros } from '../billing/money.js';
import { planFor, type RateCard } from '../billing/rate-card.js';

/** What the worker needs of a kafkajs message. */
export interface IncomingMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** An invalid message, with everything the DLQ entry needs. */
export interface Rejected extends LedgerReject {
  code: RejectCode;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IncomingMessage['headers'];
}

export interface PreparedBatch {
  samples: LedgerSample[];
  rejects: Rejected[];
}

interface Prices {
  cpu: bigint;
  memory: bigint;
}

export class BatchPreparer {
  private readonly prices = new Map<string, Prices>();

  constructor(
    private readonly rateCard: RateCard,
    private readonly lateLimitMs: number,
  ) {}

  /** First-tier prices of the machine's plan, cached per machine and label set. */
  private pricesFor(machine: string, labels: Record<string, string>, labelsJson: string): Prices {
    const key = `${machine}\u0000${labelsJson}`;
    let prices = this.prices.get(key);
    if (!prices) {
      const plan = planFor(this.rateCard, machine, labels);
      prices = { cpu: basePrice(plan?.cpu ?? this.rateCard.cpu), memory: basePrice(plan?.memory ?? this.rateCard.memory) };
      if (this.prices.size > 100_000) this.prices.clear();
      this.prices.set(key, prices);
    }
    return prices;
  }

  /** Validates every message (at `now`), and prices the valid ones at their plan's base rates. */
  prepare(messages: IncomingMessage[], now: number, minOffset = 0): PreparedBatch {
    const samples: LedgerSample[] = [];
    const rejects: Rejected[] = [];
    const limits = { now, lateLimitMs: this.lateLimitMs };
    for (const message of messages) {
      const offset = Number(message.offset);
      // Already applied: the ledger skips these too, inside its transaction; this just saves work.
      if (offset < minOffset) continue;
      const key = message.key === null ? null : message.key.toString('utf8');
      const check = checkSample(message.value, key, limits);
      if (!check.ok) {
        rejects.push({ offset, code: check.code, reason: check.reason, key: message.key, value: message.value, headers: message.headers });
        continue;
      }
      const s = check.sample;
      const labels = canonicalLabels(s.labels);
      const prices = this.pricesFor(s.machine, s.labels, labels);
      const cpuBusyUs = busyMicros(s.cpu.busySeconds);
      const windowMs = s.end - s.start;
      samples.push({
        offset,
        id: s.id,
        machine: s.machine,
        labels,
        start: s.start,
        end: s.end,
        cores: s.cpu.cores,
        cpuBusyUs,
        memUsedBytes: s.mem.usedBytes,
        memTotalBytes: s.mem.totalBytes,
        cpuMicros: Number(flatCostMicros(BigInt(cpuBusyUs), CPU_UNITS_PER_CORE_HOUR, prices.cpu)),
        memMicros: Number(flatCostMicros(BigInt(s.mem.usedBytes) * BigInt(windowMs), MEM_UNITS_PER_GIB_HOUR, prices.memory)),
      });
    }
    return { samples, rejects };
  }
}
