// What the console's data side needs from a screen, so that src/console never imports components/:
// the screen (components/screen.tsx, the one module that renders the ink tree) is handed in by the
// command that runs the console.
import type { DetailRequest } from './history-store.js';
import type { FleetOrder } from './fleet-order.js';
import type { ConsoleSnapshot, SnapshotSource } from './snapshot.js';

export interface LiveScreenOptions {
  source: SnapshotSource;
  /** No keys (stdin is not a terminal): render only, and say how to get them. */
  readOnly: boolean;
  color: boolean;
  costBy: string;
  onCostByChange(by: string): void;
  onDetailChange(request: DetailRequest | null): void;
  /** The fleet pane now shows these machines (their sparklines are filled from history). */
  onVisibleMachines?(machines: readonly string[]): void;
  /**
   * The fleet's order, kept by the data side, which places a burst's changed rows in it between frames
   * for the order on screen (told by onFleetOrderChange), so a frame finds them placed.
   */
  fleetOrder?: FleetOrder;
  onFleetOrderChange?(filter: string, sort: { key: string; reverse: boolean }): void;
  stdout: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
  /** Called after each frame is written, with ink's render time (the benchmark's frame clock). */
  onRender?: (renderMs: number) => void;
}

export interface LiveScreen {
  waitUntilExit(): Promise<unknown>;
  unmount(): void;
  cleanup(): void;
}

export interface ConsoleScreen {
  /** The interactive screen, until the operator quits (or unmount()). */
  showLive(options: LiveScreenOptions): LiveScreen;
  /** One snapshot as text (plain, or with colour codes), `width` columns wide. */
  snapshotText(snapshot: ConsoleSnapshot, options: { width: number; color: boolean }): string;
}
