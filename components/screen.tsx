// The one module that renders the console's ink tree (as Shopify cli-kit's renderX() functions do):
// the live screen, and one snapshot as text. The data side (src/console/run-console.ts) is given
// this by the command that runs it, and never imports components/ itself.
import { render, renderToString } from 'ink';
import { ConsoleApp } from './ConsoleApp.js';
import { PlainSnapshot } from './PlainSnapshot.js';
import { makeTheme, ThemeProvider } from './Theme.js';
import { loadFullWidthRules } from '../src/format/index.js';
import type { ConsoleScreen, LiveScreenOptions } from '../src/console/screen.js';

function showLive(o: LiveScreenOptions) {
  loadFullWidthRules();
  return render(
    <ConsoleApp
      source={o.source}
      readOnly={o.readOnly}
      theme={makeTheme(o.color)}
      initialUi={{ costBy: o.costBy }}
      onCostByChange={o.onCostByChange}
      onDetailChange={o.onDetailChange}
      onVisibleMachines={o.onVisibleMachines}
      fleetOrder={o.fleetOrder}
      onFleetOrderChange={o.onFleetOrderChange}
    />,
    {
      stdout: o.stdout,
      stdin: o.stdin,
      exitOnCtrlC: false,
      patchConsole: false,
      // Not incrementalRendering: in ink 6.8 it moves the frame down a line when frames end in a newline.
      incrementalRendering: false,
      // ink draws at most this often (a leading-edge throttle): at 20, a key pressed within 50 ms of
      // the last drawing (the second of two quick presses) waited for the window's end. Snapshots
      // come every 1.5 s, so only held or quick keys draw more often.
      maxFps: 60,
      onRender: o.onRender ? (metrics) => o.onRender!(metrics.renderTime) : undefined,
    },
  );
}

function snapshotText(snapshot: Parameters<ConsoleScreen['snapshotText']>[0], { width, color }: { width: number; color: boolean }): string {
  return renderToString(
    <ThemeProvider theme={makeTheme(color)}>
      <PlainSnapshot snapshot={snapshot} width={width} />
    </ThemeProvider>,
    { columns: width },
  );
}

export const consoleScreen: ConsoleScreen = { showLive, snapshotText };
