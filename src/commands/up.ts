// `meter up`: everything at once on this machine: a broker (found or started), an agent for this host,
// a simulated fleet, a billing worker, and the console in the foreground.
import { hostname } from 'node:os';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { DEFAULT_GROUP, kafkaConnectionFromArgv, kafkaFlags, kafkaSecurityArgs, positive, type KafkaArgv } from '../config/options.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import { createLogger, silentLogger } from '../log/logger.js';
import { DEFAULT_REFRESH_MS } from '../console/defaults.js';
import { childEnv } from '../config/resolve.js';

interface UpArgv extends KafkaArgv {
  topic: string;
  group: string;
  fleet: number;
  interval: number;
  ledger?: string;
  rates?: string;
  headless: boolean;
  machine: string;
}

export const upCommand: CommandModule<object, UpArgv> = {
  command: 'up',
  describe: 'Run the whole pipeline here: broker, agent, simulated fleet, worker and the console',
  builder: (yargs: Argv) =>
    yargs
      .options(kafkaFlags)
      .options({
        group: { type: 'string', default: DEFAULT_GROUP, describe: 'Consumer group of the billing worker' },
        fleet: { type: 'number', default: 24, describe: 'Simulated machines besides this host (0 for none)' },
        interval: { type: 'number', default: 5, describe: 'Seconds between samples' },
        machine: { type: 'string', default: hostname(), describe: "This host's machine id", defaultDescription: 'the host name' },
        ledger: ledgerFlag('The ledger'),
        rates: { type: 'string', describe: 'Rate card file (JSON or YAML); defaults to the built-in rates' },
        headless: { type: 'boolean', default: false, describe: 'No console: logs to stdout, stops on SIGINT/SIGTERM (for servers)' },
      })
      .example('$0 up', 'start everything and open the console (q quits and stops it all)')
      .example('$0 up --headless --fleet 200', 'a bigger demo fleet, no console') as unknown as Argv<UpArgv>,
  handler: async (argv) => {
    const connection = kafkaConnectionFromArgv(argv, 'meter-up');
    const brokers = connection.brokers;
    const fleet = argv.fleet === 0 ? 0 : positive('fleet', argv.fleet, { integer: true, max: 100_000 });
    const intervalSeconds = positive('interval', argv.interval, { max: 3600 });
    if (!argv.topic) throw new UsageError('--topic: give a topic name');
    const headless = argv.headless || !process.stdout.isTTY || !process.stdin.isTTY;
    if (!argv.headless && headless) {
      process.stderr.write('meter up: not a terminal, so running headless (the console needs one; over SSH use ssh -t)\n');
    }
    const rateCardPath = argv.rates;
    if (rateCardPath) {
      // Checked here, so a bad rate card is one clear line instead of a worker that dies twice.
      const { loadRateCard } = await import('../billing/index.js');
      loadRateCard(rateCardPath);
    }
    const ledgerPath = ledgerValue(argv.ledger, argv.meter.home);
    const logger = createLogger({ level: argv.meter.logLevel, fields: { mode: 'up' } });
    const { runUp } = await import('../up/run-up.js');
    const { shutdownRequested } = await import('../cli/shutdown.js');
    const stopSignal = shutdownRequested({ exitWithParent: argv.meter.exitWithParent });
    const code = await runUp({
      connection,
      securityArgs: kafkaSecurityArgs(argv),
      topic: argv.topic,
      group: argv.group,
      fleet,
      intervalSeconds,
      home: argv.meter.home,
      childEnv: childEnv(argv.meter),
      ledgerPath,
      rates: rateCardPath,
      headless,
      machine: argv.machine,
      logger,
      stopSignal,
      runConsole: headless
        ? undefined
        : async (pipeline) => {
            const { loadRateCard } = await import('../billing/index.js');
            const { createKafka } = await import('../kafka/client.js');
            (await import('../console/live-terminal.js')).renderLiveOnTerminal();
            const { runInteractive } = await import('../console/run-console.js');
            const { resolveLiveFrom } = await import('../console/live-source.js');
            const { consoleScreen } = await import('../../components/screen.js');
            await runInteractive({
              screen: consoleScreen,
              kafka: createKafka({ ...connection, clientId: 'meter-console' }, silentLogger),
              brokers,
              topic: argv.topic,
              group: argv.group,
              ledgerPath,
              // Its own worker writes the ledger: a SQLite one is the live source, PostgreSQL's the topic.
              liveFrom: resolveLiveFrom(ledgerPath),
              rateCard: loadRateCard(rateCardPath),
              intervalMs: intervalSeconds * 1000,
              refreshMs: DEFAULT_REFRESH_MS,
              costBy: 'machine',
              once: false,
              json: false,
              pipeline: { problems: pipeline.troubled, closed: Promise.race([pipeline.fatal, pipeline.stopSignal]) },
            });
          },
    });
    process.exitCode = code;
  },
};
