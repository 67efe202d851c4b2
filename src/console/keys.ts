// The console's keys, in one table: each command with its keys and its help line (after gemini-cli's
// keyBindings.ts). Key handling (commandForKey) and the help overlay (helpLines) are both generated
// from it, so a key cannot work without being documented, nor be documented without working.
import type { UiAction, UiState } from './ui-state.js';

/** The part of ink's Key that the table looks at. */
export interface KeyPress {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

type NamedKey = 'upArrow' | 'downArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'tab' | 'backspace' | 'delete';

/** One key: a named key (with or without Shift), or a character (with or without Ctrl). */
export type KeySpec = { key: NamedKey; shift?: boolean } | { char: string; ctrl?: boolean };

/** Which screen a binding works on: the panes and detail view, while typing a filter, or in the help. */
export type KeyMode = 'normal' | 'filter' | 'help';

export type Command =
  | 'up'
  | 'down'
  | 'pageUp'
  | 'pageDown'
  | 'top'
  | 'bottom'
  | 'nextPane'
  | 'previousPane'
  | 'fleetPane'
  | 'costPane'
  | 'lagPane'
  | 'openDetail'
  | 'back'
  | 'shorterRange'
  | 'longerRange'
  | 'filter'
  | 'cycleSort'
  | 'reverseSort'
  | 'costBy'
  | 'pause'
  | 'help'
  | 'quit'
  | 'filterKeep'
  | 'filterClear'
  | 'filterBackspace'
  | 'closeHelp';

export interface KeyBinding {
  command: Command;
  mode: KeyMode;
  keys: readonly KeySpec[];
  help: string;
}

const named = (key: NamedKey, shift?: boolean): KeySpec => ({ key, shift });
const char = (c: string, ctrl?: boolean): KeySpec => ({ char: c, ctrl });

/** Every key the console knows, in the help's order. No key means two things in one mode (tested). */
export const KEY_BINDINGS: readonly KeyBinding[] = [
  { command: 'up', mode: 'normal', keys: [named('upArrow'), char('k')], help: 'up (detail: previous machine)' },
  { command: 'down', mode: 'normal', keys: [named('downArrow'), char('j')], help: 'down (detail: next machine)' },
  { command: 'pageUp', mode: 'normal', keys: [named('pageUp'), char('b', true)], help: 'a page up' },
  { command: 'pageDown', mode: 'normal', keys: [named('pageDown'), char('f', true)], help: 'a page down' },
  { command: 'top', mode: 'normal', keys: [named('home'), char('g')], help: 'first row' },
  { command: 'bottom', mode: 'normal', keys: [named('end'), char('G')], help: 'last row' },
  { command: 'nextPane', mode: 'normal', keys: [named('tab')], help: 'next pane' },
  { command: 'previousPane', mode: 'normal', keys: [named('tab', true)], help: 'previous pane' },
  { command: 'fleetPane', mode: 'normal', keys: [char('1')], help: 'Fleet pane' },
  { command: 'costPane', mode: 'normal', keys: [char('2')], help: 'Cost pane' },
  { command: 'lagPane', mode: 'normal', keys: [char('3')], help: 'Lag pane' },
  { command: 'openDetail', mode: 'normal', keys: [named('return')], help: 'machine detail: history, cost/day' },
  { command: 'back', mode: 'normal', keys: [named('escape'), named('backspace'), named('delete')], help: 'back from detail; clear filter' },
  { command: 'shorterRange', mode: 'normal', keys: [char('[')], help: 'detail: shorter range' },
  { command: 'longerRange', mode: 'normal', keys: [char(']')], help: 'detail: longer range (1h 24h period)' },
  { command: 'filter', mode: 'normal', keys: [char('/')], help: 'filter by name or label' },
  { command: 'cycleSort', mode: 'normal', keys: [char('s')], help: 'sort by the next column' },
  { command: 'reverseSort', mode: 'normal', keys: [char('S')], help: 'reverse the sort' },
  { command: 'costBy', mode: 'normal', keys: [char('b')], help: 'Cost pane: machine or label' },
  { command: 'pause', mode: 'normal', keys: [char('p')], help: 'pause / resume updates' },
  { command: 'help', mode: 'normal', keys: [char('?')], help: 'this help' },
  { command: 'quit', mode: 'normal', keys: [char('q'), char('c', true)], help: 'quit' },
  { command: 'filterKeep', mode: 'filter', keys: [named('return')], help: 'keep the filter' },
  { command: 'filterClear', mode: 'filter', keys: [named('escape')], help: 'clear the filter' },
  { command: 'filterBackspace', mode: 'filter', keys: [named('backspace'), named('delete')], help: 'delete a character' },
  { command: 'up', mode: 'filter', keys: [named('upArrow')], help: 'move the selection up' },
  { command: 'down', mode: 'filter', keys: [named('downArrow')], help: 'move the selection down' },
  { command: 'pageUp', mode: 'filter', keys: [named('pageUp')], help: 'a page up' },
  { command: 'pageDown', mode: 'filter', keys: [named('pageDown')], help: 'a page down' },
  { command: 'quit', mode: 'filter', keys: [char('c', true)], help: 'quit' },
  { command: 'closeHelp', mode: 'help', keys: [char('?'), named('escape'), named('return')], help: 'close this help' },
  { command: 'quit', mode: 'help', keys: [char('q'), char('c', true)], help: 'quit' },
];

const NAMED_LABELS: Record<NamedKey, string> = {
  upArrow: '↑',
  downArrow: '↓',
  pageUp: 'PgUp',
  pageDown: 'PgDn',
  home: 'Home',
  end: 'End',
  return: 'Enter',
  escape: 'Esc',
  tab: 'Tab',
  backspace: 'Backspace',
  // ink reports the Backspace key of most terminals (DEL, 0x7f) as delete.
  delete: 'Backspace',
};

/** A key as the help shows it: "↑", "k", "Ctrl-B", "Shift-Tab". */
export function keyLabel(spec: KeySpec): string {
  if ('key' in spec) return `${spec.shift ? 'Shift-' : ''}${NAMED_LABELS[spec.key]}`;
  return spec.ctrl ? `Ctrl-${spec.char.toUpperCase()}` : spec.char;
}

export function keyMatches(spec: KeySpec, input: string, key: KeyPress): boolean {
  if ('key' in spec) return key[spec.key] === true && !!key.shift === !!spec.shift;
  // Characters: ink marks upper-case letters as shifted, so Shift is not compared; Ctrl and Meta are.
  return input === spec.char && !!key.ctrl === !!spec.ctrl && !key.meta;
}

export function modeOf(state: Pick<UiState, 'filterEditing' | 'help'>): KeyMode {
  return state.filterEditing ? 'filter' : state.help ? 'help' : 'normal';
}

/** The command a key press means in this mode, from the table; null when it means nothing. */
export function commandForKey(input: string, key: KeyPress, mode: KeyMode): Command | null {
  for (const b of KEY_BINDINGS) {
    if (b.mode !== mode) continue;
    for (const spec of b.keys) if (keyMatches(spec, input, key)) return b.command;
  }
  return null;
}

/** What a command does in the given state (some depend on it: Esc leaves the detail view, else clears the filter). */
export function actionForCommand(command: Command, state: UiState): UiAction | null {
  switch (command) {
    case 'up':
      return { type: 'move', delta: -1 };
    case 'down':
      return { type: 'move', delta: 1 };
    case 'pageUp':
      return { type: 'page', direction: -1 };
    case 'pageDown':
      return { type: 'page', direction: 1 };
    case 'top':
      return { type: 'top' };
    case 'bottom':
      return { type: 'bottom' };
    case 'nextPane':
      return { type: 'switchPane', direction: 1 };
    case 'previousPane':
      return { type: 'switchPane', direction: -1 };
    case 'fleetPane':
      return { type: 'showPane', pane: 'fleet' };
    case 'costPane':
      return { type: 'showPane', pane: 'cost' };
    case 'lagPane':
      return { type: 'showPane', pane: 'lag' };
    case 'openDetail':
      return { type: 'openDetail' };
    case 'back':
      if (state.detail !== null) return { type: 'closeDetail' };
      return state.filter ? { type: 'filterClear' } : null;
    case 'shorterRange':
      return { type: 'historyRange', direction: -1 };
    case 'longerRange':
      return { type: 'historyRange', direction: 1 };
    case 'filter':
      return { type: 'startFilter' };
    case 'cycleSort':
      return { type: 'cycleSort' };
    case 'reverseSort':
      return { type: 'reverseSort' };
    case 'costBy':
      return { type: 'cycleCostBy' };
    case 'pause':
      return { type: 'togglePause' };
    case 'help':
    case 'closeHelp':
      return { type: 'toggleHelp' };
    case 'quit':
      return { type: 'quit' };
    case 'filterKeep':
      return { type: 'filterDone' };
    case 'filterClear':
      return { type: 'filterClear' };
    case 'filterBackspace':
      return { type: 'filterBackspace' };
  }
}

/**
 * The one key map: a key press in a given state to an action (or nothing). While the filter is typed,
 * printable text that is no key of the table goes into the filter.
 */
export function actionForKey(input: string, key: KeyPress, state: UiState): UiAction | null {
  const mode = modeOf(state);
  const command = commandForKey(input, key, mode);
  if (command) return actionForCommand(command, state);
  if (mode === 'filter' && !key.ctrl && !key.meta && !key.tab) {
    // Printable text only (a paste arrives as one string); control characters are dropped.
    const text = Array.from(input).filter((ch) => ch >= ' ' && ch !== '\u007f').join('');
    return text ? { type: 'filterInput', text } : null;
  }
  return null;
}

/** The help overlay's lines, from the table: keys and what they do, per mode. */
export function helpLines(): Array<{ keys: string; help: string; section?: string }> {
  const out: Array<{ keys: string; help: string; section?: string }> = [];
  const sections: Array<[KeyMode, string | undefined]> = [
    ['normal', undefined],
    ['filter', 'while typing a filter (/)'],
  ];
  for (const [mode, title] of sections) {
    let first = true;
    for (const b of KEY_BINDINGS) {
      if (b.mode !== mode) continue;
      // In the filter, moving works as it does elsewhere: only what differs is listed.
      if (mode === 'filter' && ['up', 'down', 'pageUp', 'pageDown', 'quit'].includes(b.command)) continue;
      out.push({ keys: [...new Set(b.keys.map(keyLabel))].join(' '), help: b.help, section: first ? title : undefined });
      first = false;
    }
  }
  return out;
}

/**
 * Several plain keys read at once (fast typing, a remote terminal, tmux send-keys) arrive as one
 * string; splits it into single key presses. Escape sequences are ink's to parse and are left whole.
 */
export function splitKeys(input: string, key: KeyPress): Array<[string, KeyPress]> {
  if (input.length <= 1 || key.ctrl || key.meta || input.includes('\u001b')) return [[input, key]];
  return Array.from(input).map((ch): [string, KeyPress] => {
    if (ch === '\r' || ch === '\n') return ['', { return: true }];
    if (ch === '\t') return ['', { tab: true }];
    if (ch === '\u007f' || ch === '\b') return ['', { backspace: true }];
    return [ch, {}];
  });
}
