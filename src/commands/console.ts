// `meter console`: the operator's live view of the fleet's usage and cost and of the billing
// pipeline's lag; or, with --once (or when stdout is not a terminal), one snapshot as text or JSON.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { DEFAULT_GROUP, kafkaConnectionFromArgv, kafkaFlags, positive, type KafkaArgv } from '../config/options.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import { silentLogger } from '../log/logger.js';
import { DEFAULT_REFRESH_MS } from '../console/defaults.js';
import type { ConsoleScreen } from '../console/screen.js';
import type { LiveFrom } from '../console/live-source.js';

interface ConsoleArgv extends KafkaArgv {
  topic: string;
  group: string;
  ledger?: string;
  rates?: string;
  interval: number;
  refresh: number;
  by: string;
  once: boolean;
  json: boolean;
  'live-from'?: string;
  'stats-file'?: string;
}

/** For --json, which draws nothing. */
const noScreen: ConsoleScreen = {
  showLive: () => {
    throw new Error('meter console --json draws no screen');
  },
  snapshotText: () => {
    throw new Error('meter console --json draws no screen');
  },
};

/** --by: "machine" or "label:KEY". */
export function parseCostBy(value: string): string {
  const v = value.trim();
  if (v === 'machine') return v;
  const m = /^label:(.+)$/.exec(v);
  if (m && m[1]!.trim()) return `label:${m[1]!.trim()}`;
  throw new UsageError(`--by: "${value}" is not machine or label:KEY (e.g. --by label:team)`);
}

export const consoleCommand: CommandModule<object, ConsoleArgv> = {
  command: 'console',
  describe: 'Live fleet usage, costs and consumer lag in the terminal (--once for one snapshot)',
  builder: (yargs: Argv) =>
    yargs
      .options(kafkaFlags)
      .options({
        group: { type: 'string', default: DEFAULT_GROUP, describe: 'Consumer group of the billing workers, for the lag pane' },
        ledger: ledgerFlag('Ledger to read costs from (opened read-only)'),
        rates: {
          type: 'string',
          describe: "What-if: price with this rate card (JSON or YAML) instead of the ledger's price versions; the header says WHAT-IF",
          defaultDescription: "the ledger's price versions",
        },
        interval: { type: 'number', default: 5, describe: "The agents' sample interval in seconds: silent for 3 intervals is stale" },
        refresh: {
          type: 'number',
          default: DEFAULT_REFRESH_MS,
          describe: 'Milliseconds between data updates of the screen (keys redraw at once); lower is smoother and costs more CPU',
        },
        'live-from': {
          type: 'string',
          choices: ['ledger', 'topic'],
          describe:
            "Where the machines' live CPU and memory come from: the samples the workers accepted into the ledger (far less CPU for a big fleet; shows what is billed, and needs a running worker) or every message of the topic",
          defaultDescription: 'ledger for a SQLite ledger, topic for PostgreSQL',
        },
        by: { type: 'string', default: 'machine', describe: 'Cost pane totals: machine or label:KEY (b switches)' },
        once: { type: 'boolean', default: false, describe: 'Print one snapshot and exit (also when stdout is not a terminal)' },
        json: { type: 'boolean', default: false, describe: 'With --once: the snapshot as JSON (implies --once)' },
        // For bench/console.ts: frame timings written to this file at exit.
        'stats-file': { type: 'string', hidden: true },
      })
      .example('$0 console', 'the live console (keys: ? for help, q to quit)')
      .example('ssh -t ops-host meter console', 'over SSH: -t gives it a terminal, so keys work')
      .example('$0 console --once --json | jq .totals', 'one snapshot for a script') as unknown as Argv<ConsoleArgv>,
  handler: async (argv) => {
    const intervalSeconds = positive('interval', argv.interval, { max: 86_400 });
    const refreshMs = positive('refresh', argv.refresh, { max: 60_000 });
    if (refreshMs < 50) throw new UsageError('--refresh: give at least 50 (milliseconds)');
    const costBy = parseCostBy(String(argv.by));
    if (!argv.topic) throw new UsageError('--topic: give a topic name');
    if (!argv.group) throw new UsageError('--group: give the billing group');
    const ledgerPath = ledgerValue(argv.ledger, argv.meter.home);
    const { resolveLiveFrom } = await import('../console/live-source.js');
    const liveFrom = resolveLiveFrom(ledgerPath, argv['live-from'] as LiveFrom | undefined);
    const connection = kafkaConnectionFromArgv(argv, 'meter-console');
    // A bad set-up (credentials, TLS) is one line and exit 2, not a screen that reconnects forever;
    // a broker that is only down is shown as such and reconnected to.
    const { checkKafkaConnection } = await import('../kafka/check-connection.js');
    await checkKafkaConnection(connection);
    // React's development build measures every render for its profiler: set production before
    // React loads (it is imported below, lazily), unless the caller chose otherwise.
    process.env.NODE_ENV ??= 'production';
    const { loadRateCard } = await import('../billing/index.js');
    const rateCard = loadRateCard(argv.rates);
    const { createKafka } = await import('../kafka/client.js');
    (await import('../console/live-terminal.js')).renderLiveOnTerminal();
    const { runOnce, runInteractive } = await import('../console/run-console.js');
    // Commands are the top layer: the one place that hands the screen (components/) to the data side.
    // JSON needs no screen, and loading React and ink would only slow it down.
    const screen = argv.json ? noScreen : (await import('../../components/screen.js')).consoleScreen;
    const options = {
      screen,
      // Nothing may print over the screen: kafkajs logs nowhere.
      kafka: createKafka(connection, silentLogger),
      brokers: connection.brokers,
      topic: argv.topic,
      group: argv.group,
      ledgerPath,
      liveFrom,
      rateCard,
      intervalMs: intervalSeconds * 1000,
      refreshMs,
      costBy,
      once: argv.once || argv.json,
      json: argv.json,
      statsFile: argv['stats-file'],
    };
    if (options.once || !process.stdout.isTTY) {
      if (!options.once) {
        process.stderr.write(
          'meter console: stdout is not a terminal, so this is one snapshot; for the live console run it in a terminal (over SSH: ssh -t host meter console)\n',
        );
      }
      await runOnce(options);
      return;
    }
    await runInteractive(options);
  },
};
