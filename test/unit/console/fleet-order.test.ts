import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FleetOrder } from '../../../src/console/fleet-order.js';
import { compareSorted, fleetRows, sortNumber, type MachineRow } from '../../../src/console/snapshot.js';

function row(machine: string, cpu: number | null, team: string, cost: string | null = null): MachineRow {
  return {
    machine,
    labels: { team },
    cpu,
    mem: cpu === null ? null : 100 - cpu,
    cpuHistory: [],
    cores: 4,
    memTotalBytes: 2 ** 34,
    lastSeen: cpu === null ? null : 1000 + Math.round(cpu),
    stale: false,
    costPerHour: cost,
    periodCost: cost,
    forecast: null,
  };
}

const names = (rows: readonly MachineRow[]) => rows.map((r) => r.machine);

test('the order: biggest number first, unknowns last, ties by name; the answer is -1, 0 or 1 (no heap number per comparison)', () => {
  const number = fc.oneof(fc.double({ noNaN: false }), fc.constantFrom(0, -0, 1.5, 1.5000000000000002), fc.constant(null));
  const name = fc.constantFrom('a', 'b', 'web-1', 'web-10');
  fc.assert(
    fc.property(number, name, number, name, fc.constantFrom(1 as const, -1 as const), (x, nameA, y, nameB, direction) => {
      const a = sortNumber(x);
      const b = sortNumber(y);
      // The rule, stated on its own: known numbers by size, the bigger first; unknowns after every known one.
      const known = (v: number | null) => v !== null && !Number.isNaN(v) && v !== -Infinity;
      let expected: number;
      if (known(x) && known(y) && x! !== y!) expected = x! > y! ? -1 : 1;
      else if (known(x) !== known(y)) expected = known(x) ? -1 : 1;
      else expected = nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
      const answer = compareSorted(a, nameA, b, nameB, direction);
      assert.ok(answer === -1 || answer === 0 || answer === 1, `answered ${answer}`);
      assert.equal(answer, expected * direction || 0);
    }),
    { numRuns: 5000 },
  );
});

// What the snapshot builder does between frames: rows replaced in place, new machines appended,
// and after a removal a new array in another order.
const step = fc.oneof(
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    cpu: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }),
    cost: fc.option(fc.constantFrom('0.1', '0.2', '1.5'), { nil: null }),
    // A machine's labels can change too, in or out of the filter.
    team: fc.option(fc.constantFrom('a', 'b'), { nil: null }),
  }),
  fc.record({ kind: fc.constant('add' as const), cpu: fc.option(fc.integer({ min: 0, max: 20 }), { nil: null }), team: fc.constantFrom('a', 'b') }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('same' as const) }),
  fc.record({ kind: fc.constant('view' as const), key: fc.constantFrom('cpu', 'mem', 'costPerHour', 'periodCost', 'lastSeen', 'name'), reverse: fc.boolean(), filter: fc.constantFrom('', 'team=a', 'm1') }),
);

test('the kept order is always the full sort of the rows (ties and unknowns included), rows replaced or brought up to date in place', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 30 }), fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 25 }), fc.boolean(), (initial, frames, inPlace) => {
      let next = 0;
      let machines: MachineRow[] = Array.from({ length: initial }, () => row(`m${next++}`, next % 7, next % 2 ? 'a' : 'b'));
      let view = { key: 'cpu', reverse: false, filter: '' };
      const order = new FleetOrder();
      for (const steps of frames) {
        for (const s of steps) {
          if (s.kind === 'replace' && machines.length > 0) {
            machines = machines.slice();
            const at = s.at % machines.length;
            const fresh = row(machines[at]!.machine, s.cpu, s.team ?? machines[at]!.labels.team!, s.cost);
            // As the snapshot builder does: the same object under a new version, in a new array.
            if (inPlace) Object.assign(machines[at]!, fresh, { version: (machines[at]!.version ?? 0) + 1 });
            else machines[at] = fresh;
          } else if (s.kind === 'add') {
            machines = [...machines, row(`m${next++}`, s.cpu, s.team)];
          } else if (s.kind === 'remove' && machines.length > 0) {
            const at = s.at % machines.length;
            machines = [...machines.slice(at + 1), ...machines.slice(0, at)];
          } else if (s.kind === 'view') {
            view = s;
          }
        }
        const sort = { key: view.key, reverse: view.reverse };
        assert.deepEqual(names(order.rows(machines, view.filter, sort)), names(fleetRows(machines, view.filter, sort)));
      }
    }),
    { numRuns: 300 },
  );
});

test('a frame where a few rows changed merges them in rather than sorting every row', () => {
  const machines = Array.from({ length: 1000 }, (_, i) => row(`m${i}`, (i * 37) % 100, 'a'));
  const order = new FleetOrder();
  const sort = { key: 'cpu', reverse: false };
  order.rows(machines, '', sort);
  assert.equal(order.lastWay, 'sorted');
  const next = machines.slice();
  next[5] = row('m5', 99.5, 'a');
  next[700] = row('m700', -1, 'a');
  const rows = order.rows(next, '', sort);
  assert.equal(order.lastWay, 'merged');
  assert.equal(rows[0]!.machine, 'm5');
  assert.equal(rows.at(-1)!.machine, 'm700');
  assert.equal(order.rows(next, '', sort), rows, 'the same rows: the same array');
  assert.equal(order.lastWay, 'same');
  order.rows(next, '', { key: 'cpu', reverse: true });
  assert.equal(order.lastWay, 'sorted', 'a new sort key sorts afresh');
});

test('rows that changed but kept their sort value keep their places without a sort (every row, sorting by name)', () => {
  const machines = Array.from({ length: 1000 }, (_, i) => row(`m${String(i).padStart(4, '0')}`, i % 100, i % 2 ? 'a' : 'b'));
  const order = new FleetOrder();
  const byName = { key: 'name', reverse: false };
  const first = order.rows(machines, '', byName);
  // Every machine's new sample: a new row at each index, as the snapshot builder makes them.
  const next = machines.map((m) => row(m.machine, (m.cpu! + 1) % 100, m.labels.team!));
  const rows = order.rows(next, '', byName);
  assert.equal(order.lastWay, 'in place');
  assert.notEqual(rows, first, 'a new array: the rows in it are new');
  assert.deepEqual(names(rows), names(first));
  assert.ok(rows.every((r, i) => r === next[i]), 'each place holds the new row');

  // By CPU: only rows whose number changed are moved; one that left the filter is gone.
  const byCpu = { key: 'cpu', reverse: false };
  order.rows(next, 'team=a', byCpu);
  const again = next.slice();
  again[1] = row(next[1]!.machine, next[1]!.cpu, 'a'); // same number: stays
  again[3] = row(next[3]!.machine, 99.5, 'a'); // to the top
  again[5] = row(next[5]!.machine, next[5]!.cpu, 'b'); // leaves the filter
  const moved = order.rows(again, 'team=a', byCpu);
  assert.equal(order.lastWay, 'merged');
  assert.equal(moved[0], again[3]);
  assert.ok(moved.includes(again[1]!));
  assert.ok(!moved.some((r) => r.machine === again[5]!.machine));
  assert.deepEqual(names(moved), names(fleetRows(again, 'team=a', byCpu)));
  // ...and comes back into it with the same number: listed again.
  const back = again.slice();
  back[5] = row(again[5]!.machine, again[5]!.cpu, 'a');
  assert.deepEqual(names(order.rows(back, 'team=a', byCpu)), names(fleetRows(back, 'team=a', byCpu)));
});
