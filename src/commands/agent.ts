// `meter agent`: meters this host (or a simulated fleet) and publishes Sample v1 to Kafka.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { kafkaConnectionFromArgv, kafkaFlags, positive, type KafkaArgv } from '../config/options.js';
import { defaultSpoolDir } from '../config/paths.js';
import { createLogger } from '../log/logger.js';
import { MAX_MACHINE_ID_LENGTH } from '../schema/sample.js';
import { parseMetricsAddress } from '../metrics/address.js';

interface AgentArgv extends KafkaArgv {
  topic: string;
  interval: number;
  machine: string;
  label: string[];
  spool?: string;
  'spool-max-mb': number;
  simulate: number;
  'simulate-spread': boolean;
  partitions: number;
  metrics?: string;
}

export function parseLabels(values: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label: "${value}" is not key=value (e.g. --label team=search)`);
    labels[value.slice(0, eq).trim()] = value.slice(eq + 1).trim();
  }
  return labels;
}

export const agentCommand: CommandModule<object, AgentArgv> = {
  command: 'agent',
  describe: 'Sample this host (or a simulated fleet) and publish usage to Kafka',
  builder: (yargs: Argv) =>
    yargs
      .options(kafkaFlags)
      .options({
        interval: { type: 'number', default: 5, describe: 'Seconds between samples' },
        machine: { type: 'string', default: hostname(), describe: 'Machine id (the message key)', defaultDescription: 'the host name' },
        label: { type: 'string', array: true, default: [], describe: 'A label key=value on every sample (repeatable)' },
        spool: {
          type: 'string',
          describe: 'Directory of the on-disk spool (and the last counters); one agent per directory',
          defaultDescription: 'METER_HOME/spool/<machine>, or .../sim-<N> with --simulate',
        },
        'spool-max-mb': { type: 'number', default: 256, describe: 'Spool bound in MiB; past it the oldest samples are dropped and counted' },
        simulate: { type: 'number', default: 0, describe: 'Publish N simulated machines instead of this host' },
        'simulate-spread': {
          type: 'boolean',
          default: false,
          describe: "With --simulate: spread the machines' samples over the interval, as real agents' are (each counts from its own start); by default they all sample at one instant, as a fleet does after an outage",
        },
        partitions: { type: 'number', default: 3, describe: 'Partitions when the agent has to create the topic' },
        metrics: {
          type: 'string',
          describe: 'Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464)',
        },
      })
      .example('$0 agent', 'meter this host every 5 s to 127.0.0.1:9092')
      .example('$0 agent --label team=search --label env=prod', 'with labels for invoices and budgets')
      .example('$0 agent --metrics 0.0.0.0:9464', 'also serve Prometheus metrics for scraping')
      .example('$0 agent --simulate 200 --spool /tmp/sim-spool', 'a simulated fleet of 200 machines') as unknown as Argv<AgentArgv>,
  handler: async (argv) => {
    const intervalSeconds = positive('interval', argv.interval, { max: 86_400 });
    const simulate = argv.simulate === 0 ? 0 : positive('simulate', argv.simulate, { integer: true, max: 1_000_000 });
    const partitions = positive('partitions', argv.partitions, { integer: true, max: 10_000 });
    const spoolMaxMb = positive('spool-max-mb', argv['spool-max-mb']);
    const machine = String(argv.machine).trim();
    if (!machine || machine.length > MAX_MACHINE_ID_LENGTH) {
      throw new UsageError(`--machine: give a non-empty id of at most ${MAX_MACHINE_ID_LENGTH} characters`);
    }
    if (!argv.topic) throw new UsageError('--topic: give a topic name');
    const labels = parseLabels(argv.label.map(String));
    const metrics = argv.metrics === undefined ? undefined : parseMetricsAddress(String(argv.metrics));
    const connection = kafkaConnectionFromArgv(argv, `meter-agent-${machine}`);
    // A bad set-up (credentials, TLS) is one line and exit 2 before anything is sampled. A broker
    // that is down (refused at once, or silent for 10 s) is not: the agent spools until it is back,
    // and its publisher still ends on a set-up problem found later. (3 s was too short for a TLS
    // handshake and its retry on a loaded machine.)
    const { checkKafkaConnection } = await import('../kafka/check-connection.js');
    await checkKafkaConnection(connection, 10_000);
    const logger = createLogger({ level: argv.meter.logLevel, fields: { mode: 'agent' } });
    const { runAgent } = await import('../agent/run-agent.js');
    await runAgent({
      connection,
      topic: argv.topic,
      partitions,
      intervalMs: intervalSeconds * 1000,
      machine,
      labels,
      spoolDir: argv.spool ?? join(defaultSpoolDir(argv.meter.home), simulate > 0 ? `sim-${simulate}` : encodeURIComponent(machine)),
      spoolMaxBytes: Math.round(spoolMaxMb * 1024 * 1024),
      simulate,
      simulateSpread: argv['simulate-spread'],
      logger,
      metrics,
      stopSignal: (await import('../cli/shutdown.js')).shutdownRequested({ exitWithParent: argv.meter.exitWithParent }),
    });
  },
};
