import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { QUEUED_ROWS_PER_BUILD, SnapshotBuilder, TAIL_ROWS_PER_STEP, type SnapshotInputs } from '../../../src/console/build-snapshot.js';
import type { HistoryPoint } from '../../../src/console/history.js';
import { TopicTail, type MachineTrace } from '../../../src/console/tail-store.js';
import type { MachineCost } from '../../../src/console/ledger-store.js';
import { emptySnapshot } from '../../../src/console/snapshot.js';
import type { Sample } from '../../../src/schema/sample.js';
import type { Kafka } from 'kafkajs';

const NOW = Date.UTC(2026, 10, 15, 12, 0, 0);
const GiB = 2 ** 30;

function sample(machine: string, end: number, busySeconds = 10): Sample {
  return {
    v: 1,
    id: `${machine}:0:${end}`,
    machine,
    labels: { team: 'search' },
    start: end - 5000,
    end,
    cpu: { cores: 4, busySeconds },
    mem: { totalBytes: 16 * GiB, usedBytes: 4 * GiB },
  };
}

/** A tail that is fed by hand: no broker needed for its bookkeeping. */
function tail(maxPoints = 5) {
  return new TopicTail({ kafka: {} as Kafka, topic: 't', backfillMs: 0, maxPoints });
}

function inputs(traces: ReadonlyMap<string, MachineTrace>, costs: Map<string, MachineCost>, now = NOW): SnapshotInputs {
  const base = emptySnapshot();
  return {
    now,
    topic: 'resource_usage',
    group: 'billing',
    intervalMs: 5000,
    tail: { machines: traces, state: 'running', rate: 1 },
    ledger: { view: { state: 'ok', path: 'x', polledAt: now }, machines: costs, costs: null, fleet: base.fleet },
    lag: { view: base.lag, health: { state: 'connected', since: now - 1000 } },
  };
}

test('the tail keeps samples in window order, once each, and only the newest maxPoints', () => {
  const t = tail(3);
  for (const end of [NOW - 10_000, NOW, NOW - 5000, NOW - 5000, NOW - 15_000]) t.add(sample('a', end));
  const trace = t.machines.get('a')!;
  assert.deepEqual(trace.ends, [NOW - 10_000, NOW - 5000, NOW]);
  assert.equal(trace.cpu[0], 50, '10 busy seconds of 4 cores over 5 s');
  assert.equal(trace.mem[0], 25);
  t.add(sample('a', NOW - 20_000));
  assert.deepEqual(trace.ends, [NOW - 10_000, NOW - 5000, NOW], 'older than everything kept: dropped');
});

test('the tail keeps the newest maxPoints in window order, whatever order samples come in (against a plain model)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 60 }), (maxPoints, steps) => {
      const t = tail(maxPoints);
      // The model: sorted, unique, at most maxPoints; when full, a sample older than all kept is dropped.
      let model: number[] = [];
      for (const step of steps) {
        const end = NOW - 150_000 + step * 5000;
        t.add(sample('a', end, step / 10));
        if (model.includes(end) || (model.length >= maxPoints && end < model[0]!)) continue;
        model = [...model, end].sort((a, b) => a - b).slice(-maxPoints);
      }
      const trace = t.machines.get('a');
      assert.deepEqual(trace?.ends ?? [], model);
      // CPU follows its window: busy seconds step / 10 of 4 cores over 5 s.
      assert.deepEqual(trace?.cpu ?? [], model.map((end) => ((end - (NOW - 150_000)) / 5000 / 10 / 20) * 100));
    }),
  );
});

test('machines come from both the tail and the ledger; stale after 3 intervals of silence', () => {
  const t = tail();
  t.add(sample('live', NOW - 2000));
  t.add(sample('quiet', NOW - 16_000));
  const costs = new Map<string, MachineCost>([
    ['live', { machine: 'live', labels: { team: 'search' }, lastSeen: NOW - 2000, costPerHour: '0.100000', periodCost: '1.000000', forecast: '9.000000' }],
    ['billed-only', { machine: 'billed-only', labels: { team: 'data' }, lastSeen: NOW - 3_600_000, costPerHour: '0.000000', periodCost: '5.000000', forecast: '5.000000' }],
  ]);
  const snapshot = new SnapshotBuilder().build(inputs(t.machines, costs));
  const byName = new Map(snapshot.machines.map((m) => [m.machine, m]));
  assert.deepEqual([...byName.keys()].sort(), ['billed-only', 'live', 'quiet']);
  assert.equal(byName.get('live')!.stale, false);
  assert.equal(byName.get('live')!.costPerHour, '0.100000');
  assert.equal(byName.get('live')!.cpu, 50);
  assert.equal(byName.get('quiet')!.stale, true, '16 s > 3 x 5 s');
  assert.equal(byName.get('quiet')!.costPerHour, null, 'not in the ledger yet');
  assert.equal(byName.get('billed-only')!.cpu, null);
  assert.equal(byName.get('billed-only')!.stale, true);
  assert.equal(byName.get('billed-only')!.labels.team, 'data');
  assert.deepEqual(snapshot.labelKeys, ['team']);
});

test('rows that did not change keep their version; a new sample or a stale flip brings a row up to date in place', () => {
  const t = tail();
  t.add(sample('a', NOW - 1000));
  t.add(sample('b', NOW - 1000));
  const builder = new SnapshotBuilder();
  const first = builder.build(inputs(t.machines, new Map()));
  const versions = new Map(first.machines.map((m) => [m.machine, m.version]));
  const second = builder.build(inputs(t.machines, new Map(), NOW + 500));
  assert.equal(second.machines, first.machines, 'nothing changed: same array');
  t.add(sample('a', NOW + 4000));
  const third = builder.build(inputs(t.machines, new Map(), NOW + 4500));
  assert.notEqual(third.machines, first.machines, 'a row changed: a new array');
  const row = (s: typeof first, name: string) => s.machines.find((m) => m.machine === name)!;
  assert.notEqual(row(third, 'a').version, versions.get('a'));
  assert.equal(row(third, 'a').lastSeen, NOW + 4000);
  assert.equal(row(third, 'b').version, versions.get('b'));
  const later = builder.build(inputs(t.machines, new Map(), NOW + 20_000));
  assert.equal(row(later, 'b').stale, true);
  assert.notEqual(row(later, 'b').version, versions.get('b'), 'a stale flip is a change');
});

test('the broker is reconnecting when either connection fails, since the first failure', () => {
  const builder = new SnapshotBuilder();
  const t = tail();
  const base = inputs(t.machines, new Map());
  const down = builder.build({ ...base, lag: { ...base.lag, health: { state: 'reconnecting', since: NOW - 5000, message: 'Connection error' } } });
  assert.deepEqual(down.broker, { state: 'reconnecting', since: NOW - 5000, message: 'Connection error' });
  const tailDown = builder.build({ ...base, tail: { ...base.tail, state: 'reconnecting', message: 'fetch failed' } });
  assert.equal(tailDown.broker.state, 'reconnecting');
  const up = builder.build(base);
  assert.equal(up.broker.state, 'connected');
});

test('rows carry only the sparkline points; the detail view gets the tail alone when there is no history source', () => {
  const t = tail(100);
  for (let k = 0; k < 40; k++) t.add(sample('a', NOW - (40 - k) * 5000, k));
  const builder = new SnapshotBuilder();
  const plain = builder.build(inputs(t.machines, new Map()));
  assert.equal(plain.machines[0]!.cpuHistory.length, 24);
  assert.equal(plain.detail, null);
  const history = { request: { machine: 'a', range: 'hour' as const, chartColumns: 100 }, answer: null, hasSource: false, sparklines: new Map(), period: PERIOD };
  const detailed = builder.build({ ...inputs(t.machines, new Map()), history });
  assert.equal(detailed.detail!.machine, 'a');
  assert.equal(detailed.detail!.state, 'tail-only');
  assert.equal(detailed.detail!.points.length, 40);
  assert.equal(detailed.detail!.from, NOW - 3_600_000);
  const again = builder.build({ ...inputs(t.machines, new Map()), history });
  assert.equal(again.detail, detailed.detail, 'unchanged history: same object');
});

test("the detail view's history from the source is extended by the tail's newer samples", () => {
  const t = tail(100);
  // The source had samples up to NOW - 20 s; the tail has the last minute, overlapping it.
  for (let k = 0; k < 12; k++) t.add(sample('a', NOW - (11 - k) * 5000, 4));
  const answerPoints = Array.from({ length: 100 }, (_, k) => ({ at: NOW - 20_000 - (99 - k) * 5000, cpu: 50, mem: 25, samples: 1 }));
  const request = { machine: 'a', range: 'hour' as const, chartColumns: 100 };
  const window = { range: 'hour' as const, from: NOW - 3_600_000, to: NOW, stepMs: null, period: PERIOD };
  const answer = { request, window, state: 'ok' as const, data: { points: answerPoints, latest: NOW - 20_000, coverage: { from: PERIOD.from, to: NOW, coveredMs: 1, gaps: [] }, costPerDay: [] } };
  const snap = new SnapshotBuilder().build({ ...inputs(t.machines, new Map()), history: { request, answer, hasSource: true, sparklines: new Map(), period: PERIOD } });
  const points = snap.detail!.points;
  assert.equal(snap.detail!.state, 'ok');
  assert.equal(points.length, 104, '100 from the source and the 4 newer ones from the tail');
  assert.deepEqual(points.slice(-4).map((p) => p.at), [NOW - 15_000, NOW - 10_000, NOW - 5000, NOW]);
  assert.equal(points.at(-1)!.cpu, 20, '4 busy seconds of 4 cores over 5 s on the tail');
});

test('sparklines start filled from the source, and the tail takes over as it fills', () => {
  const t = tail(100);
  t.add(sample('a', NOW, 2));
  const recent = Array.from({ length: 30 }, (_, k) => ({ at: NOW - (30 - k) * 5000, cpu: 80, mem: 10 }));
  const builder = new SnapshotBuilder();
  const history = { request: null, answer: null, hasSource: true, sparklines: new Map([['a', recent], ['b', recent]]), period: PERIOD };
  const snap = builder.build({ ...inputs(t.machines, new Map()), history });
  const a = snap.machines.find((m) => m.machine === 'a')!;
  assert.equal(a.cpuHistory.length, 24);
  assert.deepEqual(a.cpuHistory.slice(-2), [80, 10], 'history, then the tail');
  const b = snap.machines.find((m) => m.machine === 'b');
  assert.equal(b, undefined, 'a machine only in history is not invented as a row');
});

const PERIOD = { from: Date.UTC(2026, 10, 1), to: Date.UTC(2026, 11, 1) };

test('told which machines changed, the builder rebuilds only their rows, and still marks rows that went stale', () => {
  const t = tail(10);
  for (const m of ['a', 'b', 'c']) t.add(sample(m, NOW - 5000));
  const builder = new SnapshotBuilder();
  const costs = new Map<string, MachineCost>();
  const first = builder.build({ ...inputs(t.machines, costs), tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 } });
  t.add(sample('b', NOW));
  const row = (s: typeof first, m: string) => s.machines.find((r) => r.machine === m)!;
  const versions = new Map(first.machines.map((m) => [m.machine, m.version]));
  const second = builder.build({ ...inputs(t.machines, costs, NOW + 1000), tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 } });
  assert.equal(row(second, 'a').version, versions.get('a'), 'a did not change: same version');
  assert.notEqual(row(second, 'b').version, versions.get('b'));
  assert.equal(row(second, 'b').lastSeen, NOW);
  assert.deepEqual(second.machines.map((r) => r.machine), ['a', 'b', 'c'], 'rows keep their places');
  // 3 intervals later, with nothing new from a or c: they turn stale though no data arrived.
  const later = builder.build({ ...inputs(t.machines, costs, NOW + 16_000), tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 } });
  assert.deepEqual(later.machines.map((r) => [r.machine, r.stale]), [['a', true], ['b', true], ['c', true]]);
  const quiet = builder.build({ ...inputs(t.machines, costs, NOW + 16_500), tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 } });
  assert.equal(quiet.machines, later.machines, 'nothing changed: the same rows array');
  t.add(sample('d', NOW + 17_000));
  const added = builder.build({ ...inputs(t.machines, costs, NOW + 17_000), tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 } });
  assert.deepEqual(added.machines.map((r) => r.machine), ['a', 'b', 'c', 'd'], 'a new machine is added');
});

test("a burst of the tail's samples is brought up to date in steps between frames; each frame still shows every change", () => {
  const t = tail(5);
  const n = 2 * TAIL_ROWS_PER_STEP + 300;
  const names = Array.from({ length: n }, (_, i) => `m-${String(i).padStart(5, '0')}`);
  for (const name of names) t.add(sample(name, NOW - 5000));
  const costs = new Map<string, MachineCost>([['m-00001', { machine: 'm-00001', labels: { team: 'x' }, lastSeen: NOW - 1000, costPerHour: '0.100000', periodCost: '1.000000', forecast: null }]]);
  const builder = new SnapshotBuilder();
  const input = (ledgerChanged: ReadonlySet<string> = new Set()): SnapshotInputs => ({
    ...inputs(t.machines, costs),
    tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 },
    ledger: { ...inputs(t.machines, costs).ledger, changed: ledgerChanged },
  });
  let snap = builder.build(input());
  assert.equal(snap.machines.length, n, 'the first build is whole');
  const before = snap.machines.map((m) => m.version);
  // Every machine's next sample at once (a burst), and a ledger change.
  for (const name of names) t.add(sample(name, NOW, 15));
  costs.set('m-00001', { ...costs.get('m-00001')!, periodCost: '2.000000' });
  builder.advance(input(new Set(['m-00001'])));
  assert.equal(builder.tailPending, true);
  builder.advance(input());
  assert.equal(builder.tailPending, true);
  // A frame in the middle of the burst shows all of it, and the ledger's change.
  snap = builder.build(input());
  assert.equal(builder.tailPending, false);
  assert.equal(snap.machines.filter((m) => m.cpu === 75).length, n);
  assert.equal(snap.machines.find((m) => m.machine === 'm-00001')!.periodCost, '2.000000');
  assert.equal(snap.machines.filter((m, i) => m.version === before[i]).length, 0, 'every row is brought up to date since the last frame');
  // A step, then a frame: the frame brings the rest.
  for (const name of names) t.add(sample(name, NOW + 5000, 5));
  builder.advance(input());
  assert.equal(builder.build(input()).machines.filter((m) => m.cpu === 25).length, n);
  builder.advance(input());
  assert.equal(builder.tailPending, false, 'nothing changed: nothing to do');
});

test("the ledger's and the history's changes come in a few thousand rows per build; a big ledger poll is spread over frames", () => {
  const t = tail(10);
  const costs = new Map<string, MachineCost>();
  const cost = (name: string, periodCost: string): MachineCost => ({ machine: name, labels: { team: 'x' }, lastSeen: NOW - 1000, costPerHour: '0.100000', periodCost, forecast: null });
  const n = 2 * QUEUED_ROWS_PER_BUILD + 500;
  for (let i = 0; i < n; i++) costs.set(`m-${i}`, cost(`m-${i}`, '1.000000'));
  const sparklines = new Map<string, HistoryPoint[]>();
  const builder = new SnapshotBuilder();
  const build = (changed: ReadonlySet<string>, sparklinesChanged: ReadonlySet<string> = new Set()) =>
    builder.build({
      ...inputs(t.machines, costs),
      tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 },
      ledger: { ...inputs(t.machines, costs).ledger, changed },
      history: { request: null, answer: null, hasSource: true, sparklines, sparklinesChanged, period: PERIOD },
    });
  assert.equal(build(new Set(costs.keys())).machines.length, n, 'the first build is whole');
  // A poll changes every machine's cost, in place: the rows follow over three builds.
  for (const name of costs.keys()) costs.set(name, cost(name, '2.000000'));
  const updated = (s: ReturnType<typeof build>) => s.machines.filter((m) => m.periodCost === '2.000000').length;
  let snap = build(new Set(costs.keys()));
  assert.equal(updated(snap), QUEUED_ROWS_PER_BUILD);
  snap = build(new Set());
  assert.equal(updated(snap), 2 * QUEUED_ROWS_PER_BUILD);
  snap = build(new Set());
  assert.equal(updated(snap), n);
  // A sparkline's history for one machine rebuilds that row; one for a machine nobody knows makes none.
  sparklines.set('m-3', [{ at: NOW - 5000, cpu: 70, mem: 1 }]);
  sparklines.set('ghost', [{ at: NOW - 5000, cpu: 70, mem: 1 }]);
  const before = snap.machines.map((m) => m.version);
  snap = build(new Set(), new Set(['m-3', 'ghost']));
  assert.deepEqual(snap.machines.find((m) => m.machine === 'm-3')!.cpuHistory, [70]);
  assert.equal(snap.machines.length, n);
  assert.equal(snap.machines.filter((m, i) => m.version !== before[i]).length, 1, 'only that row is brought up to date');
  // A machine the ledger no longer has (and the tail never saw) leaves the fleet.
  costs.delete('m-7');
  snap = build(new Set(['m-7']));
  assert.equal(snap.machines.length, n - 1);
  assert.equal(snap.machines.find((m) => m.machine === 'm-7'), undefined);
});

test('a label key that first appears in a changed row is added to the label keys between full builds', () => {
  const t = tail(10);
  t.add(sample('a', NOW - 5000));
  t.add(sample('b', NOW - 5000));
  const builder = new SnapshotBuilder();
  const costs = new Map<string, MachineCost>();
  // The same ledger map, told nothing changed in it: only the tail's changed rows are looked at.
  const build = (now: number) => {
    const base = inputs(t.machines, costs, now);
    return builder.build({ ...base, tail: { machines: t.machines, changed: t.drainChanged(), state: 'running', rate: 1 }, ledger: { ...base.ledger, changed: new Set() } });
  };
  assert.deepEqual(build(NOW).labelKeys, ['team']);
  t.add(sample('a', NOW)); // the same labels, in a new object
  assert.deepEqual(build(NOW + 500).labelKeys, ['team']);
  t.add({ ...sample('b', NOW), labels: { team: 'search', env: 'prod' } });
  assert.deepEqual(build(NOW + 1000).labelKeys, ['env', 'team']);
});
