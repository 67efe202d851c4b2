// `meter worker`: consume Sample v1 as a consumer group and write the billing ledger.
import type { Argv, CommandModule } from 'yargs';
import { MeterError, UsageError } from '../cli/errors.js';
import { DEFAULT_GROUP, kafkaConnectionFromArgv, kafkaFlags, positive, type KafkaArgv } from '../config/options.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import { ANSWER_TIMEOUT_MS } from '../ledger/ledger.js';
import { createLogger } from '../log/logger.js';
import { parseMetricsAddress } from '../metrics/address.js';

interface WorkerArgv extends KafkaArgv {
  topic: string;
  group: string;
  ledger?: string;
  rates?: string;
  'late-limit': string;
  'future-limit': string;
  'keep-raw': string;
  partitions: number;
  'session-timeout': number;
  'ledger-timeout': number;
  'fetch-max-kb': number;
  metrics?: string;
}

/** What Kafka accepts as a topic name (kafka.common.internals.Topic). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** The late-data limit is capped so a sample's usage always fits the ledger's 64-bit integers. */
const MAX_LATE_LIMIT_MS = 366 * 86_400_000;
const MAX_FUTURE_LIMIT_MS = 7 * 86_400_000;

export const workerCommand: CommandModule<object, WorkerArgv> = {
  command: 'worker',
  describe: 'Consume usage as a consumer group and write the billing ledger (exactly once)',
  builder: (yargs: Argv) =>
    yargs
      .options(kafkaFlags)
      .options({
        group: { type: 'string', default: DEFAULT_GROUP, describe: 'Consumer group; workers in one group share the partitions' },
        ledger: ledgerFlag('Ledger to bill into, created and migrated if missing (every worker of a group must use the same one)'),
        rates: {
          type: 'string',
          describe: "Rate card, JSON or YAML (see examples/rates.example.yaml): registered in the ledger as a price version effective now when it differs from the one in force",
          defaultDescription: "the ledger's prices (DESIGN.md defaults in a new ledger)",
        },
        'late-limit': {
          type: 'string',
          default: '35d',
          describe: "Acceptance window, back: refuse samples whose window starts longer than this before their Kafka message's timestamp (e.g. 35d, 36h)",
        },
        'future-limit': {
          type: 'string',
          default: '5m',
          describe: "Acceptance window, ahead: refuse samples whose window ends more than this after their Kafka message's timestamp",
        },
        'keep-raw': {
          type: 'string',
          default: '0d',
          describe: 'Keep raw samples at least this long; they are pruned once their period is closed and they are older than the acceptance window (rollups and closed invoices stay)',
        },
        partitions: { type: 'number', default: 3, describe: 'Partitions when the worker has to create the topic' },
        'session-timeout': {
          type: 'number',
          default: 30,
          describe: 'Seconds before a worker that died loses its partitions to the others (broker limits apply: 6..1800 by default)',
          group: 'Advanced:',
        },
        'ledger-timeout': {
          type: 'number',
          default: ANSWER_TIMEOUT_MS / 1000,
          describe:
            'PostgreSQL: seconds the ledger may send nothing while a transaction waits on it before the connection is taken for lost (a network cut) and the batch read again on a new one',
          group: 'Advanced:',
        },
        'fetch-max-kb': { type: 'number', default: 4096, describe: 'Largest fetch per partition in KiB: the size of a batch and its transaction', group: 'Advanced:' },
        metrics: {
          type: 'string',
          describe: 'Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9465)',
        },
      })
      .example('$0 worker', 'consume resource_usage as group "billing" into METER_HOME/ledger.db')
      .example('$0 worker --ledger /var/lib/meter/ledger.db --rates rates.yaml', 'a given ledger and rate card')
      .example('$0 worker --metrics 0.0.0.0:9465', 'also serve Prometheus metrics for scraping')
      .example('PGPASSFILE=/etc/meter/pgpass $0 worker --ledger postgres://meter@db:5432/billing', 'on several processor hosts: one PostgreSQL ledger') as unknown as Argv<WorkerArgv>,
  handler: async (argv) => {
    if (!argv.topic) throw new UsageError('--topic: give a topic name');
    if (!TOPIC_NAME.test(argv.topic) || argv.topic === '.' || argv.topic === '..') {
      throw new UsageError(`--topic: "${argv.topic}" is not a Kafka topic name (letters, digits, '.', '_' and '-', at most 249)`);
    }
    if (!argv.group) throw new UsageError('--group: give a consumer group name');
    const partitions = positive('partitions', argv.partitions, { integer: true, max: 10_000 });
    const sessionTimeoutMs = Math.round(positive('session-timeout', argv['session-timeout'], { max: 3600 }) * 1000);
    const ledgerAnswerTimeoutMs = Math.round(positive('ledger-timeout', argv['ledger-timeout'], { max: 3600 }) * 1000);
    const maxBytesPerPartition = Math.round(positive('fetch-max-kb', argv['fetch-max-kb'], { max: 1024 * 1024 }) * 1024);
    const { parseDuration } = await import('../worker/duration.js');
    const lateLimitMs = parseDuration('late-limit', argv['late-limit'], { maxMs: MAX_LATE_LIMIT_MS });
    const futureLimitMs = parseDuration('future-limit', argv['future-limit'], { maxMs: MAX_FUTURE_LIMIT_MS });
    const keepRawMs = /^0+[a-z]*$/.test(String(argv['keep-raw']).trim()) ? 0 : parseDuration('keep-raw', argv['keep-raw'], { maxMs: 100 * 366 * 86_400_000 });
    const { loadRateCard } = await import('../billing/rate-card.js');
    const rateCard = loadRateCard(argv.rates);
    const metrics = argv.metrics === undefined ? undefined : parseMetricsAddress(String(argv.metrics));
    const connection = kafkaConnectionFromArgv(argv, `meter-worker-${argv.group}`);
    // A bad set-up (credentials, TLS) is one line and exit 2, and a broker that does not answer one
    // line and exit 1, before the ledger or the group is touched (systemd's Restart= tries again).
    const { checkKafkaConnection } = await import('../kafka/check-connection.js');
    const check = await checkKafkaConnection(connection, 30_000);
    if (!check.ok) throw new MeterError(`${check.problem.message}; start one with \`meter kafka start\` or pass --brokers`);
    const { StatusLine } = await import('../worker/status.js');
    const tty = Boolean(process.stderr.isTTY);
    const status = tty ? new StatusLine(process.stderr) : undefined;
    const logger = createLogger({ stream: status?.statusAwareStream(), level: argv.meter.logLevel, fields: { mode: 'worker' } });
    const { runWorker } = await import('../worker/run-worker.js');
    try {
      await runWorker({
        connection,
        topic: argv.topic,
        group: argv.group,
        ledger: ledgerValue(argv.ledger, argv.meter.home),
        rateCard,
        explicitRates: Boolean(argv.rates),
        acceptance: { aheadMs: futureLimitMs, backMs: lateLimitMs },
        keepRawMs,
        partitions,
        logger,
        statusLine: status,
        sessionTimeoutMs,
        ledgerAnswerTimeoutMs,
        maxBytesPerPartition,
        metrics,
        stopSignal: (await import('../cli/shutdown.js')).shutdownRequested({ exitWithParent: argv.meter.exitWithParent }),
      });
    } finally {
      // Everything is flushed and closed (or failed and reported). After a broker outage kafkajs can
      // leave a reconnect socket behind that would keep the process alive; give the loop a moment,
      // then exit regardless.
      setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
    }
  },
};
