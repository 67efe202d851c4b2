// A simulated fleet's hourly cost for forecast tests: web machines busy in business hours on
// weekdays, a CI farm busy only in working hours, nightly batch jobs and a Sunday report run,
// databases with a milder daily cycle, bursty ML training at random, and machines joining over the
// weeks (growth). Usage is turned into money by the real rating code at the default prices. Seeded
// (with the agent simulator's generator), so every run sees the same fleet.
import { seededRandom } from '../../../src/agent/fleet-simulator.js';
import { CPU_UNITS_PER_CORE_HOUR, MEM_UNITS_PER_GIB_HOUR } from '../../../src/billing/money.js';
import { parseRateCard } from '../../../src/billing/rate-card.js';
import { costMicros } from '../../../src/billing/rating.js';

const HOUR = 3_600_000;
const defaults = parseRateCard({});

interface SimMachine {
  kind: 'web' | 'ci' | 'batch' | 'db' | 'ml';
  cores: number;
  memGiB: number;
  joinsAtHour: number;
  burstLeft: number;
}

/** Cost of one machine-hour in micro-units, from its busy cores and GiB in use, at the default prices. */
function hourCost(busyCores: number, usedGiB: number): number {
  const cpu = BigInt(Math.round(busyCores * 3.6e9));
  const mem = BigInt(Math.round(usedGiB * 1024)) * (MEM_UNITS_PER_GIB_HOUR / 1024n);
  return Number(costMicros(cpu, CPU_UNITS_PER_CORE_HOUR, defaults.cpu) + costMicros(mem, MEM_UNITS_PER_GIB_HOUR, defaults.memory));
}

/** The fleet's cost of each hour from `start` for `hours` hours, micro-units. `start` should be a Monday 00:00 UTC. */
export function simulatedFleetCost(start: number, hours: number, seed: number): number[] {
  const random = seededRandom(seed);
  const machines: SimMachine[] = [];
  const add = (kind: SimMachine['kind'], count: number, cores: number, memGiB: number, joinsEveryHours = 0) => {
    for (let i = 0; i < count; i++) machines.push({ kind, cores, memGiB, joinsAtHour: joinsEveryHours * i, burstLeft: 0 });
  };
  add('web', 6, 8, 32);
  add('web', 6, 8, 32, 9 * 24 + 5); // one more web machine every 9 days or so: growth
  add('ci', 8, 16, 32);
  add('batch', 4, 16, 64);
  add('db', 3, 32, 256);
  add('ml', 2, 32, 128);
  const hourly: number[] = [];
  for (let h = 0; h < hours; h++) {
    const at = new Date(start + h * HOUR);
    const hourOfDay = at.getUTCHours();
    const day = at.getUTCDay(); // 0 Sunday
    const weekday = day >= 1 && day <= 5;
    const business = hourOfDay >= 7 && hourOfDay < 19 ? Math.sin((Math.PI * (hourOfDay - 7 + 0.5)) / 12) : 0;
    let total = 0;
    for (const m of machines) {
      if (h < m.joinsAtHour) continue;
      const noise = 1 + (random() - 0.5) * 0.2;
      let util: number;
      switch (m.kind) {
        case 'web':
          util = 0.08 + 0.6 * business * (weekday ? 1 : 0.25);
          break;
        case 'ci':
          util = weekday && hourOfDay >= 8 && hourOfDay < 18 ? 0.75 : 0.03;
          break;
        case 'batch':
          util = (weekday && hourOfDay >= 1 && hourOfDay < 5) || (day === 0 && hourOfDay >= 6 && hourOfDay < 14) ? 0.9 : 0.04;
          break;
        case 'db':
          util = 0.3 + 0.2 * business * (weekday ? 1 : 0.4);
          break;
        case 'ml':
          if (m.burstLeft > 0) m.burstLeft--;
          else if (random() < 0.01) m.burstLeft = 2 + Math.floor(random() * 6);
          util = m.burstLeft > 0 ? 0.9 : 0.03;
          break;
      }
      util = Math.min(1, util * noise);
      total += hourCost(util * m.cores, m.memGiB * (0.4 + 0.3 * util));
    }
    hourly.push(total);
  }
  return hourly;
}
