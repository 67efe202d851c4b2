// Sample snapshots for component tests: a small fleet with costs, lag and a stale machine.
import { emptyFleetTotals, emptySnapshot, type ConsoleSnapshot, type CostLine, type DetailHistory, type MachineRow } from '../../src/console/snapshot.js';

/** The last hour's history the data side sends for the machine in the detail view: its sparkline's samples. */
export function history(row: MachineRow, overrides: Partial<DetailHistory> = {}): DetailHistory {
  const n = row.cpuHistory.length;
  return {
    machine: row.machine,
    range: 'hour',
    from: NOW - 3_600_000,
    to: NOW,
    stepMs: null,
    state: 'ok',
    points: row.cpuHistory.map((cpu, k) => ({ at: NOW - (n - 1 - k) * 5000, cpu, mem: 30 + (cpu % 20), samples: 1 })),
    coverage: { from: Date.UTC(2025, 10, 1), to: NOW, coveredMs: NOW - Date.UTC(2025, 10, 1) - 1_800_000, gaps: [{ start: NOW - 7_200_000, end: NOW - 5_400_000 }] },
    costPerDay: Array.from({ length: 27 }, (_, d) => ({ day: `2025-11-${String(d + 1).padStart(2, '0')}`, cost: (1 + d / 10).toFixed(6) })),
    ...overrides,
  };
}

export const NOW = Date.UTC(2025, 10, 27, 12, 0, 0);

export function machine(i: number, overrides: Partial<MachineRow> = {}): MachineRow {
  const role = ['web', 'api', 'db'][i % 3]!;
  const cpuHistory = Array.from({ length: 24 }, (_, k) => (i * 7 + k * 4) % 100);
  return {
    machine: `sim-${role}-${String(i + 1).padStart(2, '0')}`,
    labels: { team: ['search', 'checkout'][i % 2]!, env: i % 4 === 0 ? 'staging' : 'prod' },
    cpu: cpuHistory[cpuHistory.length - 1]!,
    mem: 30 + (i % 50),
    cpuHistory,
    cores: 8,
    memTotalBytes: 32 * 2 ** 30,
    lastSeen: NOW - 2000,
    stale: false,
    costPerHour: (0.01 + i * 0.002).toFixed(6),
    periodCost: (1 + i * 0.5).toFixed(6),
    forecast: (10 + i).toFixed(6),
    ...overrides,
  };
}

export function sampleSnapshot(count = 12, overrides: Partial<ConsoleSnapshot> = {}): ConsoleSnapshot {
  const machines = Array.from({ length: count }, (_, i) =>
    i === 1 ? machine(i, { stale: true, lastSeen: NOW - 60_000 }) : machine(i),
  );
  const lines: CostLine[] = machines.map((m) => ({
    key: m.machine,
    cpuCoreHours: 1.5,
    memGiBHours: 20,
    cpuCost: '0.047417',
    memCost: '0.084740',
    total: m.periodCost!,
  }));
  const total = lines.reduce((s, l) => s + Number(l.total), 0).toFixed(6);
  return emptySnapshot({
    now: NOW,
    broker: { state: 'connected', since: NOW - 100_000 },
    machines,
    fleet: { ...emptyFleetTotals('USD'), costPerHour: '0.252000', periodCost: total, forecast: '412.500000', periodFrom: Date.UTC(2025, 10, 1), periodTo: Date.UTC(2025, 11, 1) },
    costs: { by: 'machine', currency: 'USD', from: Date.UTC(2025, 10, 1), to: Date.UTC(2025, 11, 1), lines, total, forecast: '412.500000' },
    ledger: { state: 'ok', path: '/tmp/ledger.db', polledAt: NOW },
    lag: {
      state: 'ok',
      groupState: 'Stable',
      partitions: [
        { topic: 'resource_usage', partition: 0, committed: 1200, end: 1210, lag: 10, status: 'OK', reason: 'consuming', consumeRate: 8, catchUpSeconds: 2, owner: 'meter-worker' },
        { topic: 'resource_usage', partition: 1, committed: 900, end: 1500, lag: 600, status: 'WARN', reason: 'lag growing', consumeRate: 3, catchUpSeconds: Infinity, owner: 'meter-worker' },
        { topic: 'resource_usage', partition: 2, committed: 50, end: 700, lag: 650, status: 'STALL', reason: 'offset not moving', consumeRate: 0, catchUpSeconds: Infinity, owner: 'meter-worker' },
      ],
      members: [{ memberId: 'm-1', clientId: 'meter-worker', host: '/127.0.0.1', partitions: [0, 1, 2] }],
      totalLag: 1260,
      status: 'STALL',
      polledAt: NOW,
    },
    labelKeys: ['env', 'team'],
    tailRate: 2.4,
    ...overrides,
  });
}
