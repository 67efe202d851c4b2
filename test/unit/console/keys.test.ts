import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionForCommand, actionForKey, helpLines, KEY_BINDINGS, keyLabel, keyMatches, type Command, type KeyPress, type KeySpec } from '../../../src/console/keys.js';
import { initialUiState, reduceUi, type UiState, type ViewContext } from '../../../src/console/ui-state.js';

// Every command the console has: the compiler checks this list against the Command type both ways.
const ALL: Record<Command, true> = {
  up: true, down: true, pageUp: true, pageDown: true, top: true, bottom: true, nextPane: true, previousPane: true,
  fleetPane: true, costPane: true, lagPane: true, openDetail: true, back: true, shorterRange: true, longerRange: true,
  filter: true, cycleSort: true, reverseSort: true, costBy: true, pause: true, help: true, quit: true,
  filterKeep: true, filterClear: true, filterBackspace: true, closeHelp: true,
};

/** The key press ink would deliver for a key of the table. */
function pressFor(spec: KeySpec): [string, KeyPress] {
  if ('key' in spec) return ['', { [spec.key]: true, shift: spec.shift }];
  return [spec.char, { ctrl: spec.ctrl, shift: /^[A-Z]$/.test(spec.char) }];
}

test('every command has at least one key and a help line, and every binding is a known command', () => {
  for (const command of Object.keys(ALL) as Command[]) {
    const bindings = KEY_BINDINGS.filter((b) => b.command === command);
    assert.ok(bindings.length > 0, `${command} has no binding`);
    for (const b of bindings) {
      assert.ok(b.keys.length > 0, `${command} (${b.mode}) has no key`);
      assert.ok(b.help.trim().length > 3, `${command} (${b.mode}) has no help`);
    }
  }
  for (const b of KEY_BINDINGS) assert.ok(ALL[b.command], `${b.command} is not a command`);
});

test('no key means two things in the same mode', () => {
  for (const mode of ['normal', 'filter', 'help'] as const) {
    const seen = new Map<string, Command>();
    for (const b of KEY_BINDINGS.filter((x) => x.mode === mode)) {
      for (const k of b.keys) {
        const label = JSON.stringify(k);
        assert.ok(!seen.has(label) || seen.get(label) === b.command, `${mode}: ${keyLabel(k)} is both ${seen.get(label)} and ${b.command}`);
        seen.set(label, b.command);
      }
    }
  }
});

test('each key of the table, pressed, does its command (the handler is generated from the table)', () => {
  const states: Record<string, UiState> = {
    normal: { ...initialUiState(), detail: 'm-1' },
    filter: { ...initialUiState(), filterEditing: true, filter: 'x' },
    help: { ...initialUiState(), help: true },
  };
  for (const b of KEY_BINDINGS) {
    const state = states[b.mode]!;
    for (const spec of b.keys) {
      const [input, key] = pressFor(spec);
      assert.ok(keyMatches(spec, input, key));
      assert.deepEqual(actionForKey(input, key, state), actionForCommand(b.command, state), `${b.mode}: ${keyLabel(spec)} should ${b.command}`);
    }
  }
});

test('the help overlay lists every normal and filter binding with its keys, from the same table', () => {
  const lines = helpLines();
  for (const b of KEY_BINDINGS.filter((x) => x.mode === 'normal')) {
    const line = lines.find((l) => l.help === b.help);
    assert.ok(line, `no help line for ${b.command}`);
    for (const k of b.keys) assert.ok(line.keys.split(' ').includes(keyLabel(k)), `${keyLabel(k)} missing from "${line.keys}"`);
  }
  assert.ok(lines.some((l) => l.section && /filter/.test(l.section)), 'the filter keys have a section of their own');
});

test('[ and ] step through the history ranges and stop at the ends', () => {
  const view: ViewContext = { rowKeys: { fleet: ['a'], cost: [], lag: [] }, pageSize: { fleet: 5, cost: 5, lag: 5 }, labelKeys: [] };
  let s: UiState = { ...initialUiState(), detail: 'a' };
  const press = (ch: string) => {
    const a = actionForKey(ch, {}, s);
    if (a) s = reduceUi(s, a, view);
  };
  assert.equal(s.historyRange, 'hour');
  press('[');
  assert.equal(s.historyRange, 'hour', 'hour is the shortest');
  press(']');
  assert.equal(s.historyRange, 'day');
  press(']');
  press(']');
  assert.equal(s.historyRange, 'period', 'period is the longest');
  press('[');
  assert.equal(s.historyRange, 'day');
});
