// The pure part of the billing worker: turns a batch of Kafka messages into ledger rows and DLQ
// entries. No I/O here, so it is tested without a broker.
import { checkSample, type RejectCode } from '../schema/sample.js';
import { canonicalLabels, emptyRows, type LedgerReject, type SampleRows } from '../ledger/index.js';
import { basePrice, flatCostMicros } from '../billing/rating.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR, MICROS, PRICE_SCALE, busyMicros } from '../billing/money.js';
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
  samples: SampleRows;
  rejects: Rejected[];
}

/** The labels a machine sent last, and their canonical JSON: machines rarely change labels. */
interface KnownLabels {
  labels: Record<string, string>;
  count: number;
  json: string;
  prices: PlanPrices;
}

interface PlanPrices {
  cpu: bigint;
  memory: bigint;
  cpuNumber: number;
  memoryNumber: number;
}

function sameLabels(a: Record<string, string>, known: KnownLabels): boolean {
  let count = 0;
  for (const k in a) {
    if (known.labels[k] !== a[k]) return false;
    count++;
  }
  return count === known.count;
}

// micro-units = units x price(10^-12 units) x 10^6 / (unitsPerHour x 10^12)
const CPU_MICROS_DIVISOR = Number((CPU_UNITS_PER_CORE_HOUR * PRICE_SCALE) / MICROS);
const MEM_MICROS_DIVISOR = Number((MEM_UNITS_PER_GIB_HOUR * PRICE_SCALE) / MICROS);

/**
 * units x price / divisor, rounded half up to micro-units: in floating point when that is provably
 * the exact result (inputs exact, and the quotient not within float error of a .5), else in BigInt.
 */
function chargeMicros(units: number, price: bigint, priceNumber: number, unitsPerHour: bigint, divisor: number): number {
  if (Number.isSafeInteger(units) && Number.isSafeInteger(priceNumber)) {
    const quotient = (units * priceNumber) / divisor;
    const floor = Math.floor(quotient);
    // Relative error of one product and one division is below 2^-52; a wide margin on top of it.
    const margin = quotient * 1e-12 + 1e-9;
    if (Math.abs(quotient - floor - 0.5) > margin && quotient < 2 ** 52) return quotient - floor >= 0.5 ? floor + 1 : floor;
  }
  return Number(flatCostMicros(BigInt(units), unitsPerHour, price));
}

export class BatchPreparer {
  private readonly labelsByMachine = new Map<string, KnownLabels>();

  constructor(
    private readonly rateCard: RateCard,
    private readonly lateLimitMs: number,
  ) {}

  /** First-tier prices of the machine's plan. */
  private pricesFor(machine: string, labels: Record<string, string>): PlanPrices {
    const plan = planFor(this.rateCard, machine, labels);
    const cpu = basePrice(plan?.cpu ?? this.rateCard.cpu);
    const memory = basePrice(plan?.memory ?? this.rateCard.memory);
    return { cpu, memory, cpuNumber: Number(cpu), memoryNumber: Number(memory) };
  }

  /** Validates every message (at `now`), and prices the valid ones at their plan's base rates. */
  prepare(messages: IncomingMessage[], now: number, minOffset = 0): PreparedBatch {
    const samples = emptyRows();
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
      let known = this.labelsByMachine.get(s.machine);
      if (!known || !sameLabels(s.labels, known)) {
        known = {
          labels: s.labels,
          count: Object.keys(s.labels).length,
          json: canonicalLabels(s.labels),
          prices: this.pricesFor(s.machine, s.labels),
        };
        if (this.labelsByMachine.size > 100_000) this.labelsByMachine.clear();
        this.labelsByMachine.set(s.machine, known);
      }
      const labels = known.json;
      const prices = known.prices;
      const cpuBusyUs = busyMicros(s.cpu.busySeconds);
      const windowMs = s.end - s.start;
      const memByteMs = s.mem.usedBytes * windowMs;
      samples.ids.push(s.id);
      samples.machines.push(s.machine);
      samples.labels.push(labels);
      samples.values.push(
        offset,
        s.start,
        s.end,
        s.cpu.cores,
        cpuBusyUs,
        s.mem.usedBytes,
        s.mem.totalBytes,
        chargeMicros(cpuBusyUs, prices.cpu, prices.cpuNumber, CPU_UNITS_PER_CORE_HOUR, CPU_MICROS_DIVISOR),
        Number.isSafeInteger(memByteMs)
          ? chargeMicros(memByteMs, prices.memory, prices.memoryNumber, MEM_UNITS_PER_GIB_HOUR, MEM_MICROS_DIVISOR)
          : Number(flatCostMicros(BigInt(s.mem.usedBytes) * BigInt(windowMs), MEM_UNITS_PER_GIB_HOUR, prices.memory)),
      );
    }
    return { samples, rejects };
  }
}
