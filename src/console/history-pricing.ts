// A machine's cost per UTC day for the detail view, priced through src/billing the way an invoice
// prices the machine's line: each plan's usage through its tiers, rounded once per resource. A day's
// cost is what the period-to-date cost grew by that day, so the days add up to the machine's period
// cost (the fleet pane's PERIOD column) to the micro-unit, tiers and all.
//
// The one place the console prices history: when billing moves to price versions and pooled tiers
// (issue 11), this function switches to that API and nothing else changes.
import {
  CPU_UNITS_PER_CORE_HOUR,
  MEM_UNITS_PER_GIB_HOUR,
  costNumerator,
  formatMicros,
  numeratorToMicros,
  planFor,
  type PriceSpec,
  type RateCard,
} from '../billing/index.js';
import type { MachineHourUsage } from '../ledger/index.js';
import type { DayCost } from './history.js';

const DAY_MS = 86_400_000;

interface PlanUsage {
  cpu: PriceSpec;
  memory: PriceSpec;
  cpuUnits: bigint;
  memUnits: bigint;
}

function costSoFar(plans: Iterable<PlanUsage>): bigint {
  let cpu = 0n;
  let mem = 0n;
  for (const p of plans) {
    cpu += costNumerator(p.cpuUnits, CPU_UNITS_PER_CORE_HOUR, p.cpu);
    mem += costNumerator(p.memUnits, MEM_UNITS_PER_GIB_HOUR, p.memory);
  }
  return numeratorToMicros(cpu, CPU_UNITS_PER_CORE_HOUR) + numeratorToMicros(mem, MEM_UNITS_PER_GIB_HOUR);
}

/** Cost per UTC day (YYYY-MM-DD, oldest first) of one machine's hourly usage within one billing period. */
export function costPerDay(machine: string, hours: readonly MachineHourUsage[], card: RateCard): DayCost[] {
  const byDay = new Map<number, MachineHourUsage[]>();
  for (const h of hours) {
    const day = Math.floor(h.hour / DAY_MS) * DAY_MS;
    let list = byDay.get(day);
    if (!list) byDay.set(day, (list = []));
    list.push(h);
  }
  const plans = new Map<string, PlanUsage>();
  const out: DayCost[] = [];
  let before = 0n;
  for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
    for (const h of byDay.get(day)!) {
      const plan = planFor(card, machine, h.labels);
      const key = plan?.name ?? '';
      let usage = plans.get(key);
      if (!usage) plans.set(key, (usage = { cpu: plan?.cpu ?? card.cpu, memory: plan?.memory ?? card.memory, cpuUnits: 0n, memUnits: 0n }));
      usage.cpuUnits += h.cpuBusyUs;
      usage.memUnits += h.memByteMs;
    }
    const after = costSoFar(plans.values());
    out.push({ day: new Date(day).toISOString().slice(0, 10), cost: formatMicros(after - before) });
    before = after;
  }
  return out;
}
