import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialUiState, reduceUi, resolveCursor, type UiState, type ViewContext } from '../../../src/console/ui-state.js';
import { actionForKey, splitKeys, type KeyPress } from '../../../src/console/keys.js';

const machines = Array.from({ length: 30 }, (_, i) => `m-${String(i).padStart(2, '0')}`);
const view: ViewContext = {
  rowKeys: { fleet: machines, cost: machines, lag: ['0', '1', '2'] },
  pageSize: { fleet: 10, cost: 10, lag: 3 },
  labelKeys: ['env', 'team'],
};

/** Presses keys in order: strings are typed input, objects are special keys. */
function press(state: UiState, ...keys: Array<string | KeyPress>): UiState {
  for (const k of keys) {
    const action = typeof k === 'string' ? actionForKey(k, {}, state) : actionForKey('', k, state);
    if (action) state = reduceUi(state, action, view);
  }
  return state;
}

const selected = (s: UiState, keys = machines, page = 10) => resolveCursor(s.cursors[s.pane], keys, page);

test('j/k and arrows move the selection and clamp at the ends', () => {
  let s = press(initialUiState(), 'j', 'j', { downArrow: true });
  assert.equal(selected(s).index, 3);
  s = press(s, 'k', { upArrow: true }, 'k', 'k', 'k');
  assert.equal(selected(s).index, 0);
  assert.equal(s.cursors.fleet.key, 'm-00');
});

test('PgDn/PgUp move by a page less one row, g/G go to the ends, and scroll keeps the selection visible', () => {
  let s = press(initialUiState(), { pageDown: true });
  assert.equal(selected(s).index, 9);
  s = press(s, { pageDown: true });
  assert.deepEqual(selected(s), { index: 18, scroll: 9 });
  s = press(s, 'G');
  assert.deepEqual(selected(s), { index: 29, scroll: 20 });
  s = press(s, { pageUp: true });
  assert.equal(selected(s).index, 20);
  assert.equal(selected(s).scroll, 20);
  s = press(s, 'g');
  assert.deepEqual(selected(s), { index: 0, scroll: 0 });
  s = press(s, { end: true });
  assert.equal(selected(s).index, 29);
  s = press(s, { home: true });
  assert.equal(selected(s).index, 0);
});

test('selection follows its machine when rows re-sort or new ones arrive, and falls back to the index when it goes', () => {
  const s = press(initialUiState(), 'j', 'j', 'j', 'j', 'j');
  assert.equal(s.cursors.fleet.key, 'm-05');
  const resorted = [...machines].reverse();
  assert.equal(resolveCursor(s.cursors.fleet, resorted, 10).index, 24);
  assert.equal(resorted[resolveCursor(s.cursors.fleet, resorted, 10).index], 'm-05');
  const withNew = ['a-new', ...machines];
  assert.equal(withNew[resolveCursor(s.cursors.fleet, withNew, 10).index], 'm-05');
  const gone = machines.filter((m) => m !== 'm-05');
  assert.equal(resolveCursor(s.cursors.fleet, gone, 10).index, 5);
  assert.deepEqual(resolveCursor(s.cursors.fleet, [], 10), { index: 0, scroll: 0 });
});

test('scroll never leaves blank rows below the last one when the list shrinks', () => {
  let s = press(initialUiState(), 'G');
  assert.equal(selected(s).scroll, 20);
  const fewer = machines.slice(0, 15);
  assert.deepEqual(resolveCursor(s.cursors.fleet, fewer, 10), { index: 14, scroll: 5 });
  s = press(s, 'g');
  assert.equal(selected(s).scroll, 0);
});

test('Tab and Shift-Tab cycle the panes, 1/2/3 jump to one, each pane keeps its own selection', () => {
  let s = press(initialUiState(), 'j', { tab: true });
  assert.equal(s.pane, 'cost');
  s = press(s, 'j', 'j', { tab: true });
  assert.equal(s.pane, 'lag');
  s = press(s, { tab: true });
  assert.equal(s.pane, 'fleet');
  s = press(s, { tab: true, shift: true });
  assert.equal(s.pane, 'lag');
  s = press(s, '2');
  assert.equal(s.pane, 'cost');
  assert.equal(s.cursors.fleet.key, 'm-01');
  assert.equal(s.cursors.cost.key, 'm-02');
});

test('/ opens the filter: typed text goes to it, not to the key map; Enter keeps it, Esc clears it', () => {
  let s = press(initialUiState(), '/', 'w', 'e', 'b', 'q', 'j');
  assert.equal(s.filterEditing, true);
  assert.equal(s.filter, 'webqj');
  assert.equal(s.quit, false);
  s = press(s, { backspace: true }, { backspace: true });
  assert.equal(s.filter, 'web');
  s = press(s, { return: true });
  assert.equal(s.filterEditing, false);
  assert.equal(s.filter, 'web');
  s = press(s, 'j');
  assert.equal(s.cursors.fleet.key, 'm-01', 'keys act again after Enter');
  s = press(s, { escape: true });
  assert.equal(s.filter, '');
  s = press(s, '/', 'x', { escape: true });
  assert.equal(s.filter, '');
  assert.equal(s.filterEditing, false);
});

test('s cycles the sort of the current pane and resets the direction; S reverses', () => {
  let s = press(initialUiState(), 's');
  assert.deepEqual(s.sort.fleet, { key: 'cpu', reverse: false });
  s = press(s, 'S');
  assert.deepEqual(s.sort.fleet, { key: 'cpu', reverse: true });
  s = press(s, 's', 's', 's', 's', 's');
  assert.deepEqual(s.sort.fleet, { key: 'name', reverse: false });
  s = press(s, { tab: true }, 's');
  assert.deepEqual(s.sort.cost, { key: 'key', reverse: false });
  assert.deepEqual(s.sort.fleet, { key: 'name', reverse: false });
});

test('Enter opens the detail of the selected machine, arrows move to the next machine, Esc goes back', () => {
  let s = press(initialUiState(), 'j', 'j', { return: true });
  assert.equal(s.detail, 'm-02');
  s = press(s, 'j');
  assert.equal(s.detail, 'm-03');
  s = press(s, { tab: true });
  assert.equal(s.pane, 'fleet', 'Tab does nothing in the detail view');
  s = press(s, { escape: true });
  assert.equal(s.detail, null);
  assert.equal(s.cursors.fleet.key, 'm-03');
});

test('Enter on the cost pane opens a machine only when the pane is by machine; b cycles the grouping', () => {
  let s = press(initialUiState(), '2', 'j', { return: true });
  assert.equal(s.detail, 'm-01');
  assert.equal(s.cursors.fleet.key, 'm-01');
  s = press(s, { escape: true }, 'b');
  assert.equal(s.costBy, 'label:env');
  s = press(s, { return: true });
  assert.equal(s.detail, null);
  s = press(s, 'b', 'b');
  assert.equal(s.costBy, 'machine');
  assert.equal(press(initialUiState(), '3', { return: true }).detail, null, 'no detail for partitions');
});

test('p pauses and resumes; ? opens help, which swallows other keys until ? or Esc', () => {
  let s = press(initialUiState(), 'p');
  assert.equal(s.paused, true);
  s = press(s, 'p', '?');
  assert.equal(s.paused, false);
  assert.equal(s.help, true);
  s = press(s, 'j', 'p', { tab: true });
  assert.equal(s.cursors.fleet.key, null);
  assert.equal(s.paused, false);
  assert.equal(s.pane, 'fleet');
  s = press(s, { escape: true });
  assert.equal(s.help, false);
  s = press(s, '?', '?');
  assert.equal(s.help, false);
});

test('q and Ctrl-C quit, also from help; Ctrl-C also while typing a filter', () => {
  assert.equal(press(initialUiState(), 'q').quit, true);
  assert.equal(press(initialUiState(), '?', 'q').quit, true);
  const typing = press(initialUiState(), '/');
  assert.deepEqual(actionForKey('c', { ctrl: true }, typing), { type: 'quit' });
});

test('control characters never reach the filter', () => {
  const typing = press(initialUiState(), '/');
  assert.equal(actionForKey('\u0007', {}, typing), null);
  assert.equal(actionForKey('a', { ctrl: true }, typing), null);
});

test('keys typed faster than they are read arrive together and are split into single presses', () => {
  assert.deepEqual(splitKeys('jj\r', {}), [['j', {}], ['j', {}], ['', { return: true }]]);
  assert.deepEqual(splitKeys('j', {}), [['j', {}]]);
  assert.deepEqual(splitKeys('\u001b[A', { upArrow: true }), [['\u001b[A', { upArrow: true }]]);
  let s = initialUiState();
  for (const [i, k] of splitKeys('jj\r', {})) s = reduceUi(s, actionForKey(i, k, s)!, view);
  assert.equal(s.detail, 'm-02');
});
