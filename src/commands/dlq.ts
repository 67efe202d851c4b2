// `meter dlq`: the dead-letter queue of the usage topic. `list` summarises it by reason, beside the
// ledger's counts; `replay [--reason R]` feeds its messages back to the topic after a fix, which
// bills each sample at most once however often it is replayed (src/worker/dlq-tools.ts).
import type { Argv, CommandModule } from 'yargs';
import { MeterError, UsageError, errorMessage } from '../cli/errors.js';
import { kafkaConnectionFromArgv, kafkaFlags, type KafkaArgv } from '../config/options.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import { silentLogger } from '../log/logger.js';

interface DlqArgv extends KafkaArgv {
  action: 'list' | 'replay';
  ledger?: string;
  topic: string;
  reason?: string;
  format: string;
}

export const dlqCommand: CommandModule<object, DlqArgv> = {
  command: 'dlq <action>',
  describe: "The dead-letter queue: list it by reason beside the ledger's counts, or replay it after a fix",
  builder: (yargs: Argv) =>
    yargs
      .positional('action', { choices: ['list', 'replay'] as const, describe: 'list: messages by reason; replay: feed them back to the topic' })
      .options(kafkaFlags)
      .options({
        ledger: ledgerFlag("Ledger whose counts are shown beside the DLQ's"),
        reason: { type: 'string', describe: 'replay: only messages with this reason code (e.g. too-late)' },
        format: { type: 'string', default: 'table', describe: 'Output format: table or json' },
      })
      .example('$0 dlq list', 'the DLQ of resource_usage by reason, with the counts the ledger kept')
      .example('$0 dlq replay --reason too-late', 'after widening --late-limit: bill the samples refused as too late') as unknown as Argv<DlqArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table or json`);
    if (argv.action === 'list' && argv.reason !== undefined) throw new UsageError('--reason is for meter dlq replay');
    const connection = kafkaConnectionFromArgv(argv, 'meter-dlq');
    const { checkKafkaConnection } = await import('../kafka/check-connection.js');
    await checkKafkaConnection(connection);
    const { createKafka } = await import('../kafka/client.js');
    const { summariseDlq, replayDlq } = await import('../worker/dlq-tools.js');
    const { dlqTopicFor } = await import('../worker/dlq.js');
    const kafka = createKafka(connection, silentLogger);
    const fail = (error: unknown): never => {
      throw new MeterError(`cannot read ${dlqTopicFor(argv.topic)} at ${connection.brokers.join(',')}: ${errorMessage(error)}; check --brokers and --topic`);
    };
    // No worker has dead-lettered anything on this topic yet (the worker creates the DLQ topic with
    // its first invalid message): an empty DLQ, not a failure.
    const dlq = dlqTopicFor(argv.topic);
    const admin = kafka.admin();
    const exists = await admin
      .connect()
      .then(() => admin.listTopics())
      .then((topics) => topics.includes(dlq))
      .catch(fail)
      .finally(() => admin.disconnect().catch(() => {}));
    if (!exists) {
      const what = argv.action === 'list' ? `${dlq} does not exist: no worker has sent an invalid message of ${argv.topic} to it` : `nothing to replay: ${dlq} does not exist`;
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify(argv.action === 'list' ? { topic: argv.topic, dlq, exists: false, reasons: [] } : { topic: argv.topic, replayed: {}, total: 0 }, null, 2)}\n`);
      } else process.stdout.write(`${what}\n`);
      return;
    }
    if (argv.action === 'list') {
      const { openLedger } = await import('../ledger/index.js');
      const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: true, applicationName: 'meter-dlq' });
      try {
        const rows = await summariseDlq(kafka, argv.topic, await ledger.dlqCounts()).catch(fail);
        if (format === 'json') {
          process.stdout.write(`${JSON.stringify({ topic: argv.topic, dlq: dlqTopicFor(argv.topic), ledger: ledger.identity.name, reasons: rows }, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write(`${dlqTopicFor(argv.topic)} is empty, and the ledger counted no invalid message\n`);
          return;
        }
        const out = [`${dlqTopicFor(argv.topic)} by reason (ON DLQ may count a message twice: a worker that crashed sends it again; IN LEDGER counts each once)`];
        out.push(`${'REASON'.padEnd(16)} ${'ON DLQ'.padStart(8)} ${'IN LEDGER'.padStart(10)}  LATEST`);
        for (const r of rows) out.push(`${r.reason.padEnd(16)} ${String(r.onDlq).padStart(8)} ${String(r.inLedger).padStart(10)}  ${r.lastDetail}`);
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await ledger.close();
      }
      return;
    }
    const { Partitioners } = await import('kafkajs');
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const counts = await replayDlq(kafka, producer, argv.topic, argv.reason).catch(fail);
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      if (format === 'json') process.stdout.write(`${JSON.stringify({ topic: argv.topic, replayed: Object.fromEntries(counts), total }, null, 2)}\n`);
      else {
        process.stdout.write(
          total === 0
            ? `nothing to replay${argv.reason ? ` with reason ${argv.reason}` : ''} on ${dlqTopicFor(argv.topic)}\n`
            : `replayed ${total} message(s) to ${argv.topic} (${[...counts].map(([r, n]) => `${r} ${n}`).join(', ')}); each sample is billed at most once, however often it is replayed\n`,
        );
      }
    } finally {
      await producer.disconnect().catch(() => {});
    }
  },
};
