import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderConsole, KEYS, tick } from './render-console.js';
import { sampleSnapshot, machine, history, NOW } from './fixtures.js';
import type { DetailRequest } from '../../src/console/history-store.js';
import { FleetOrder } from '../../src/console/fleet-order.js';

const selectedLine = (lines: string[]) => lines.find((l) => l.startsWith('›')) ?? '';

test('the frame is one line shorter than the terminal at every size, and no line is wider than it', () => {
  for (const [columns, rows] of [
    [80, 24],
    [100, 40],
    [60, 12],
    [45, 9],
  ] as const) {
    const r = renderConsole(sampleSnapshot(60), { columns, rows });
    const lines = r.lines();
    assert.equal(lines.length, rows - 1, `${columns}x${rows}`);
    for (const l of lines) assert.ok(l.length <= columns, `${columns}x${rows}: "${l}" is ${l.length} wide`);
    r.unmount();
  }
});

test('80x24 shows the header, the fleet with as many rows as fit, and the key hints', () => {
  const r = renderConsole(sampleSnapshot(60), { columns: 80, rows: 24 });
  const lines = r.lines();
  assert.match(lines[0]!, /^meter ● connected  resource_usage · group billing · 60 machines +12:00:00$/);
  assert.match(lines[1]!, /fleet \$0\.252\/h now · period \$[\d,.]+ · forecast \$412\.50 · lag 1,260 STALL/);
  assert.match(lines[2]!, /1 Fleet .*2 Cost .*3 Lag .*60 machines · 1 stale · sort name ↑/);
  assert.match(lines[3]!, /MACHINE +CPU TREND +CPU +MEM +COST\/H/);
  assert.equal(lines.filter((l) => /sim-\w+-\d\d/.test(l)).length, 18, 'rows that fit: 23 - header 3 - table header 1 - status 1');
  assert.match(lines[22]!, /Tab pane .* q quit/);
  r.unmount();
});

test('a tall terminal shows the lag pane under the fleet', () => {
  const r = renderConsole(sampleSnapshot(60), { columns: 100, rows: 40 });
  const text = r.frame();
  assert.match(text, /─ Lag \(3\) ─/);
  assert.match(text, /PARTITION +COMMITTED +END +LAG/);
  assert.match(text, /MEMBERS \(1\)/);
  r.unmount();
});

test('arrows, j/k, PgDn, g/G move the selection; the list scrolls to keep it visible', async () => {
  const r = renderConsole(sampleSnapshot(60), { columns: 100, rows: 16 });
  assert.match(selectedLine(r.lines()), /sim-api-02/, 'sorted by name: sim-api-02 first');
  await r.press('j', KEYS.down);
  assert.match(selectedLine(r.lines()), /sim-api-08/);
  await r.press('k');
  assert.match(selectedLine(r.lines()), /sim-api-05/);
  await r.press('G');
  assert.match(selectedLine(r.lines()), /sim-web-58/);
  assert.ok(!r.frame().includes('sim-api-02 '), 'scrolled to the bottom');
  await r.press('g');
  assert.match(selectedLine(r.lines()), /sim-api-02/);
  await r.press(KEYS.pageDown);
  assert.match(selectedLine(r.lines()), /sim-api-29/, 'a page is the visible rows less one');
  r.unmount();
});

test('selection, scroll and filter survive updates: the selected machine stays selected when rows change', async () => {
  const r = renderConsole(sampleSnapshot(30), { columns: 100, rows: 16 });
  await r.press('/', 'd', 'b', KEYS.enter, 'j', 'j');
  assert.match(selectedLine(r.lines()), /sim-db-09/);
  const next = sampleSnapshot(30);
  // A new machine sorts before the selected one, and every value changes.
  r.source.push({ ...next, machines: [machine(99, { machine: 'sim-db-00' }), ...next.machines.map((m) => ({ ...m, cpu: 1 }))] });
  await tick();
  assert.match(selectedLine(r.lines()), /sim-db-09/);
  assert.match(r.frame(), /filter "db"/);
  assert.match(r.frame(), /sim-db-00/);
  assert.ok(!r.frame().includes('sim-web'), 'the filter still applies');
  r.unmount();
});

test('/ filters by name or label as you type; Esc clears it', async () => {
  const r = renderConsole(sampleSnapshot(12), { columns: 100, rows: 24 });
  await r.press('/', 's', 't', 'a', 'g');
  assert.match(r.lines().at(-1)!, /^\/stag/);
  const machines = r.lines().filter((l) => /sim-\w+-\d\d/.test(l));
  assert.equal(machines.length, 3, 'env=staging: machines 1, 5, 9');
  assert.ok(machines.every((l) => /env=staging/.test(l)));
  await r.press(KEYS.escape);
  assert.equal(r.lines().filter((l) => /sim-\w+-\d\d/.test(l)).length, 12);
  r.unmount();
});

test('s cycles the sort and S reverses it', async () => {
  const r = renderConsole(sampleSnapshot(12), { columns: 100, rows: 24 });
  await r.press('s');
  assert.match(r.frame(), /sort CPU ↓/);
  const cpus = () => r.lines().filter((l) => /sim-\w+-\d\d/.test(l)).map((l) => Number(/(\d+)% +\d+%/.exec(l)![1]));
  const down = cpus();
  assert.deepEqual(down, [...down].sort((a, b) => b - a));
  await r.press('S');
  assert.match(r.frame(), /sort CPU ↑/);
  const up = cpus();
  assert.deepEqual(up, [...up].sort((a, b) => a - b));
  r.unmount();
});

test("the data side's fleet order is used, and told each order on screen (it places bursts in it between frames)", async () => {
  const shared = new FleetOrder();
  const told: string[] = [];
  const r = renderConsole(sampleSnapshot(12), { columns: 100, rows: 24, fleetOrder: shared, onFleetOrderChange: (filter, sort) => told.push(`${filter}|${sort.key}|${sort.reverse}`) });
  await r.press('s');
  assert.match(r.frame(), /sort CPU ↓/);
  // New data, placed in the order on screen by the data side before the frame (as ConsoleHub does).
  const next = sampleSnapshot(12);
  const placed = shared.rows(next.machines, '', { key: 'cpu', reverse: false });
  r.source.push(next);
  await tick();
  assert.equal(shared.lastWay, 'same', 'the frame found the order already made');
  const shown = r.lines().filter((l) => /sim-\w+-\d\d/.test(l)).map((l) => /(sim-\w+-\d\d)/.exec(l)![1]);
  assert.deepEqual(shown, placed.slice(0, shown.length).map((m) => m.machine));
  await r.press('S', '/', 'a', 'p', 'i');
  assert.deepEqual(told, ['|name|false', '|cpu|false', '|cpu|true', 'a|cpu|true', 'ap|cpu|true', 'api|cpu|true']);
  r.unmount();
});

test('p pauses: new snapshots are not shown until p again', async () => {
  const r = renderConsole(sampleSnapshot(5), { columns: 100, rows: 24 });
  await r.press('p');
  assert.match(r.lines()[0]!, /PAUSED/);
  r.source.push(sampleSnapshot(5, { now: NOW + 7000 }));
  await tick();
  assert.match(r.lines()[0]!, /12:00:00/);
  await r.press('p');
  assert.match(r.lines()[0]!, /12:00:07/);
  assert.ok(!r.lines()[0]!.includes('PAUSED'));
  r.unmount();
});

test('? shows every key in a help overlay; Esc closes it', async () => {
  const r = renderConsole(sampleSnapshot(5), { columns: 80, rows: 24 });
  await r.press('?');
  const text = r.frame();
  // Generated from the key table (src/console/keys.ts): every binding fits 80x24, in two columns.
  for (const k of ['↑ k', '↓ j', 'PgUp Ctrl-B', 'Home g', 'End G', 'Shift-Tab', 'Enter', 'Esc Backspace', '[', ']', '/', 'S', 'b', 'p', '?', 'q Ctrl-C']) {
    assert.ok(text.includes(k), `help lists ${k}:\n${text}`);
  }
  assert.ok(!text.includes('more on a taller terminal'), text);
  assert.equal(r.lines().length, 23);
  await r.press(KEYS.escape);
  assert.ok(!r.frame().includes('Keys'));
  r.unmount();
});

test('Enter opens the detail of the selected machine with charts and cost; [ ] change the range; Esc goes back', async () => {
  const snapshot = sampleSnapshot(12);
  const asked: Array<string | null> = [];
  // The data side answers a detail request with that machine's history for the range.
  const onDetailChange = (request: DetailRequest | null) => {
    asked.push(request && `${request.machine} ${request.range} ${request.chartColumns}`);
    const row = snapshot.machines.find((m) => m.machine === request?.machine);
    r.source.push({ ...snapshot, detail: row && request ? history(row, { range: request.range }) : null });
  };
  const r = renderConsole(snapshot, { columns: 100, rows: 30, onDetailChange });
  await r.press('j', KEYS.enter);
  const text = r.frame();
  assert.deepEqual(asked.filter(Boolean), ['sim-api-05 hour 93'], 'the chart is the width less the indent and the scale');
  assert.match(text, /detail · sim-api-05/);
  assert.match(text, /cost so far \$3\.00 · now \$0\.018\/h · forecast \$14\.00/);
  assert.match(text, /\[last hour\] +last 24 h +period +by sample/);
  assert.match(text, /CPU 20%/);
  assert.match(text, /100%┤/);
  assert.match(text, /Memory 34%/);
  assert.match(text, /coverage 99\.9% of the period so far .* 1 gap \(UTC\):/);
  assert.match(text, /cost\/day 11-27 \$3\.60 +11-26 \$3\.50/, 'newest day first');
  assert.equal(r.lines().length, 29);
  await r.press(']');
  assert.equal(asked.at(-1), 'sim-api-05 day 93');
  assert.match(r.frame(), / last hour +\[last 24 h\]/);
  await r.press('[', 'j');
  assert.match(r.frame(), /detail · sim-api-08/, 'arrows move to the next machine');
  await r.press(KEYS.escape);
  assert.deepEqual(asked.slice(-2), ['sim-api-08 hour 93', null]);
  assert.match(selectedLine(r.lines()), /sim-api-08/);
  r.unmount();
});

test('Tab switches to the cost pane (sorted by cost) and the lag pane (with statuses and members)', async () => {
  const r = renderConsole(sampleSnapshot(12), { columns: 100, rows: 24 });
  await r.press(KEYS.tab);
  let lines = r.lines();
  assert.match(lines[2]!, /12 lines · sort cost ↓/);
  assert.match(r.frame(), /by machine · 2025-11-01 to 2025-12-01 · total \$/);
  assert.match(lines.find((l) => l.includes('CORE-H'))!, /MACHINE +CORE-H +GIB-H +CPU COST +MEM COST +TOTAL +SHARE/);
  assert.match(selectedLine(lines), /sim-db-12 .* \$6\.50 +14%/, 'the most expensive first');
  await r.press(KEYS.tab);
  lines = r.lines();
  assert.match(r.frame(), /group billing \(Stable\) · total lag 1,260 · STALL/);
  assert.match(r.frame(), /1 +900 +1,500 +600 +3\.0\/s +∞ WARN +lag growing/);
  assert.match(r.frame(), /meter-worker@127\.0\.0\.1 +partitions 0,1,2/);
  await r.press(KEYS.shiftTab, KEYS.shiftTab);
  assert.match(r.lines()[2]!, /machines/);
  r.unmount();
});

test('b switches the cost pane to a label and tells the data side', async () => {
  const seen: string[] = [];
  const r = renderConsole(sampleSnapshot(12), { columns: 100, rows: 24, onCostByChange: (by) => seen.push(by) });
  await r.press('2', 'b');
  assert.deepEqual(seen, ['label:env']);
  r.unmount();
});

test('stale machines are marked in words, not only in colour', () => {
  const r = renderConsole(sampleSnapshot(5), { columns: 80, rows: 24 });
  const stale = r.lines().find((l) => l.includes('sim-api-02'))!;
  assert.match(stale, /1m ago stale/);
  r.unmount();
});

test('a missing ledger is a message in the cost pane; the fleet and lag still show', async () => {
  const snapshot = sampleSnapshot(5, {
    ledger: { state: 'missing', path: '/x/ledger.db', polledAt: null, message: 'no ledger at /x/ledger.db yet: start `meter worker`' },
    costs: null,
  });
  const r = renderConsole(snapshot, { columns: 100, rows: 24 });
  assert.match(r.lines()[1]!, /costs: ledger missing/);
  assert.match(r.frame(), /sim-api-02/);
  await r.press('2');
  assert.match(r.frame(), /no ledger at \/x\/ledger\.db yet/);
  await r.press('3');
  assert.match(r.frame(), /PARTITION/);
  r.unmount();
});

test('the broker badge says reconnecting, and the last data stays', () => {
  const r = renderConsole(sampleSnapshot(5, { broker: { state: 'reconnecting', since: NOW - 12_000, message: 'Connection refused' } }), { columns: 100, rows: 24 });
  assert.match(r.lines()[0]!, /◌ RECONNECTING 12s/);
  assert.match(r.frame(), /sim-api-02/);
  r.unmount();
});

test('resizing re-lays out the frame', () => {
  const r = renderConsole(sampleSnapshot(60), { columns: 100, rows: 40 });
  assert.equal(r.lines().length, 39);
  r.rerender(
    // Same app, new size: as when the terminal sends SIGWINCH.
    r.element({ columns: 70, rows: 20 }),
  );
  const lines = r.lines();
  assert.equal(lines.length, 19);
  for (const l of lines) assert.ok(l.length <= 70);
  assert.ok(!r.frame().includes('─ Lag (3)'), 'no room for the lag pane below the fleet');
  r.unmount();
});

test('read-only (stdin not a terminal): no keys, and it says how to get them', async () => {
  const r = renderConsole(sampleSnapshot(5), { columns: 100, rows: 24, readOnly: true });
  assert.match(r.lines().at(-1)!, /read-only: no keys .* ssh -t host meter console/);
  r.unmount();
});

test('q quits', async () => {
  let quit = false;
  const r = renderConsole(sampleSnapshot(5), { columns: 100, rows: 24, onQuit: () => (quit = true) });
  await r.press('q');
  assert.equal(quit, true);
  r.unmount();
});
