// A render helper for console tests (as in Gemini CLI's tests): the whole app at a given size on a
// fake terminal from ink-testing-library, with a source the test can push snapshots into.
import { render } from 'ink-testing-library';
import { ConsoleApp, type ConsoleAppProps } from '../../components/ConsoleApp.js';
import { makeTheme } from '../../components/Theme.js';
import type { ConsoleSnapshot, SnapshotSource } from '../../src/console/snapshot.js';

export class TestSource implements SnapshotSource {
  private listeners = new Set<() => void>();
  constructor(private snapshot: ConsoleSnapshot) {}
  getSnapshot = () => this.snapshot;
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  push(snapshot: ConsoleSnapshot) {
    this.snapshot = snapshot;
    for (const l of this.listeners) l();
  }
}

export const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

export const KEYS = {
  up: '\u001b[A',
  down: '\u001b[B',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  shiftTab: '\u001b[Z',
  backspace: '\u007f',
  ctrlC: '\u0003',
};

export function renderConsole(snapshot: ConsoleSnapshot, options: Partial<ConsoleAppProps> & { columns?: number; rows?: number; color?: boolean } = {}) {
  const source = new TestSource(snapshot);
  const { columns = 100, rows = 24, color = false, ...props } = options;
  const theme = makeTheme(color);
  /** The app at a size: rerender(element(size)) is a terminal resize. */
  const element = (size: { columns: number; rows: number }) => <ConsoleApp source={source} size={size} theme={theme} {...props} />;
  const instance = render(element({ columns, rows }));
  /** Types keys one at a time, letting ink handle each. */
  const press = async (...keys: string[]) => {
    // ink starts reading stdin in an effect after the first render: let it.
    await tick();
    for (const k of keys) {
      instance.stdin.write(k);
      await tick();
    }
  };
  const frame = () => instance.lastFrame() ?? '';
  const lines = () => frame().split('\n');
  return { ...instance, source, press, frame, lines, element };
}
