// Runs the console: the interactive screen (ink) on a terminal, or one snapshot (plain text or JSON)
// for scripts and pipes. Nothing but ink writes to the terminal while the screen is up: kafkajs logs
// through the silent logger, and console.* and Node's warnings are muted for the rest.
import type { Kafka } from 'kafkajs';
import type { RateCard } from '../billing/index.js';
import { MeterError } from '../cli/errors.js';
import { ConsoleHub, type ConsoleHubOptions } from './console-hub.js';
import type { LiveFrom } from './live-source.js';
import { frameStats } from './frame-stats.js';
import { collectOnce, onceJson, ONCE_LAG_POLL_MS, ONCE_LAG_WINDOW_MS } from './once.js';
import { STALE_INTERVALS } from './build-snapshot.js';
import type { PipelineProblem } from './snapshot.js';
import type { ConsoleScreen } from './screen.js';
import type { HistorySource } from './history.js';
import { LedgerReader } from './ledger-reader.js';
import { DEFAULT_LEDGER_POLL_MS } from './defaults.js';

export interface RunConsoleOptions {
  kafka: Kafka;
  brokers: string[];
  topic: string;
  group: string;
  ledgerPath: string;
  /** The machines' live samples: the ledger's accepted ones or the topic's (resolveLiveFrom). */
  liveFrom: LiveFrom;
  rateCard: RateCard;
  intervalMs: number;
  refreshMs: number;
  costBy: string;
  /** What draws: components/screen.tsx's consoleScreen (given by the command; see screen.ts). */
  screen: ConsoleScreen;
  /**
   * History for the detail view and sparklines. The live console's default is the ledger, read on
   * its thread (ledger-reader.ts); --once reads none.
   */
  history?: HistorySource;
  /** One snapshot and exit: JSON or plain text. */
  once: boolean;
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  stderr?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
  /** Frame timings are written here as JSON at exit (test/bench/console.ts). */
  statsFile?: string;
  /**
   * Under `meter up`: its processes that died, for the header, and a promise that closes the console
   * (a child died twice, so the pipeline is over).
   */
  pipeline?: { problems(): PipelineProblem[]; closed: Promise<unknown> };
}

const ALT_SCREEN_ON = '\u001b[?1049h\u001b[H';
const ALT_SCREEN_OFF = '\u001b[?1049l';

function hubOptions(o: RunConsoleOptions, extra: Partial<ConsoleHubOptions> = {}): ConsoleHubOptions {
  return {
    kafka: o.kafka,
    topic: o.topic,
    group: o.group,
    ledgerPath: o.ledgerPath,
    liveFrom: o.liveFrom,
    rateCard: o.rateCard,
    intervalMs: o.intervalMs,
    refreshMs: o.refreshMs,
    costBy: o.costBy,
    pipeline: o.pipeline,
    history: o.history,
    ...extra,
  };
}

export async function runOnce(o: RunConsoleOptions): Promise<void> {
  const stdout = o.stdout ?? process.stdout;
  const stderr = o.stderr ?? process.stderr;
  const hub = new ConsoleHub(
    hubOptions(o, {
      lagPollMs: ONCE_LAG_POLL_MS,
      lagWindowMs: ONCE_LAG_WINDOW_MS,
      // The last few intervals are enough to know who is alive and how busy.
      // Every machine that is not stale has a sample in the last 3 intervals; stale ones are known
      // from the ledger.
      backfillMs: STALE_INTERVALS * o.intervalMs,
      eagerTail: true,
      maxPoints: 60,
    }),
  );
  try {
    const { snapshot, complete, everConnected } = await collectOnce(hub, o.intervalMs);
    if (!everConnected) {
      throw new MeterError(
        `cannot reach Kafka at ${o.brokers.join(',')}${snapshot.broker.message ? `: ${snapshot.broker.message}` : ''}; start one with \`meter kafka start\` or pass --brokers`,
      );
    }
    if (!complete) stderr.write('meter console: not every source answered in time; this snapshot may be partial\n');
    if (snapshot.ledger.state !== 'ok' && snapshot.ledger.message) stderr.write(`meter console: ${snapshot.ledger.message}\n`);
    if (o.json) {
      stdout.write(JSON.stringify(onceJson(snapshot), null, 2) + '\n');
    } else {
      const width = stdout.isTTY && stdout.columns ? stdout.columns : 120;
      stdout.write(o.screen.snapshotText(snapshot, { width, color: !(o.env ?? process.env).NO_COLOR }) + '\n');
    }
  } finally {
    await hub.stop();
  }
}

export async function runInteractive(o: RunConsoleOptions): Promise<void> {
  const stdout = o.stdout ?? process.stdout;
  const stdin = o.stdin ?? process.stdin;
  const env = o.env ?? process.env;
  const readOnly = !stdin.isTTY;
  // The ledger is read on a thread of its own: its costs, and the history (unless one is given).
  const reader = new LedgerReader({
    path: o.ledgerPath,
    rateCard: o.rateCard,
    pollMs: DEFAULT_LEDGER_POLL_MS,
    costBy: o.costBy,
    onChange: () => hub.changed(),
  });
  const hub: ConsoleHub = new ConsoleHub(hubOptions(o, { ledgerSource: reader, history: o.history ?? reader }));
  const stats = frameStats(o.statsFile, hub);
  hub.start();

  // Nothing may print over the screen: Node's own warnings and any library's console output are
  // dropped while it is up (kafkajs already logs nowhere), and put back afterwards.
  const quiet = silenceConsole();
  stdout.write(ALT_SCREEN_ON);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdout.write(ALT_SCREEN_OFF);
  };
  // Whatever happens, give the terminal its screen back.
  process.once('exit', restore);

  const app = o.screen.showLive({
    source: hub,
    readOnly,
    color: !env.NO_COLOR,
    costBy: o.costBy,
    onCostByChange: (by) => hub.setCostBy(by),
    onDetailChange: (request) => hub.setDetail(request),
    onVisibleMachines: (machines) => hub.showing(machines),
    fleetOrder: hub.fleetOrder,
    onFleetOrderChange: (filter, sort) => hub.setFleetOrder(filter, sort),
    stdout,
    stdin,
    onRender: stats.onRender,
  });
  const quit = () => app.unmount();
  void o.pipeline?.closed.then(quit);
  // The terminal went away (SSH dropped, window closed): writes fail with EIO; just leave.
  let terminalGone = false;
  const onWriteError = () => {
    terminalGone = true;
    restored = true;
    try {
      app.unmount();
    } catch {
      // nothing left to draw on
    }
  };
  stdout.on('error', onWriteError);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, quit);
  try {
    await app.waitUntilExit();
  } finally {
    for (const s of signals) process.off(s, quit);
    if (!terminalGone) {
      app.cleanup();
      restore();
    }
    quiet.restore();
    await hub.stop();
    stats.write();
  }
}

function silenceConsole(): { restore(): void } {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const saved = methods.map((m) => [m, console[m]] as const);
  for (const m of methods) console[m] = () => {};
  const warningListeners = process.listeners('warning');
  process.removeAllListeners('warning');
  const ignore = () => {};
  process.on('warning', ignore);
  return {
    restore() {
      for (const [m, fn] of saved) console[m] = fn;
      process.off('warning', ignore);
      for (const l of warningListeners) process.on('warning', l);
    },
  };
}
