// `meter ledger offsets`: the ledger's own offsets against the topic's log, and the recovery command
// for a partition whose log is behind the ledger (topic re-created, broker data lost, offsets reset):
// `--reset-to-log start|end` moves the ledger's offset into the log, records what it did in the
// ledger (`meter ledger offsets` lists it), and counts every offset it passes over as never billed.
// Running workers resume a stopped partition by themselves within a few seconds.
import type { Argv, CommandModule } from 'yargs';
import { MeterError, UsageError, errorMessage } from '../cli/errors.js';
import { DEFAULT_GROUP, kafkaConnectionFromArgv, kafkaFlags, type KafkaArgv } from '../config/options.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import { silentLogger } from '../log/logger.js';

interface LedgerArgv extends KafkaArgv {
  action: 'offsets' | 'prune';
  'late-limit': string;
  'keep-raw': string;
  ledger?: string;
  group: string;
  topic: string;
  partition?: number[];
  'reset-to-log'?: string;
  reason?: string;
  format: string;
}

export const ledgerCommand: CommandModule<object, LedgerArgv> = {
  command: 'ledger <action>',
  describe: "The ledger's offsets against the topic's log and their recovery; pruning raw samples that retention no longer needs",
  builder: (yargs: Argv) =>
    yargs
      .positional('action', {
        choices: ['offsets', 'prune'] as const,
        describe: "offsets: show (or, with --reset-to-log, move) the ledger's offsets; prune: delete the raw samples retention no longer needs (the worker does it too, a little every 5 minutes)",
      })
      .options(kafkaFlags)
      .options({
        ledger: ledgerFlag('Ledger'),
        group: { type: 'string', default: DEFAULT_GROUP, describe: 'Consumer group of the billing workers' },
        partition: { type: 'number', array: true, describe: 'Only this partition (repeat for more)' },
        'reset-to-log': {
          type: 'string',
          choices: ['start', 'end'],
          describe: "Move the ledger's offset to the log's start (bill what the log holds now) or end (bill nothing of it, counted as skipped)",
        },
        reason: { type: 'string', describe: 'Why, recorded in the ledger with the reset', default: 'the log is behind the ledger' },
        format: { type: 'string', default: 'table', describe: 'Output format: table or json' },
        'late-limit': { type: 'string', default: '35d', describe: "prune: the workers' acceptance window, back (raw samples inside it are kept)" },
        'keep-raw': { type: 'string', default: '0d', describe: 'prune: keep raw samples at least this long' },
      })
      .example('$0 ledger offsets', "each partition: the ledger's next offset, the log's start and end, and what is wrong")
      .example('$0 ledger offsets --partition 0 --reset-to-log start', 'after the topic was re-created: bill partition 0 from its new start')
      .example('$0 ledger prune', 'delete raw samples of closed periods older than the acceptance window now') as unknown as Argv<LedgerArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table or json`);
    if (argv.action === 'prune') {
      await prune(argv, format);
      return;
    }
    const reset = argv['reset-to-log'] as 'start' | 'end' | undefined;
    const only = argv.partition?.map((p) => {
      if (!Number.isInteger(p) || p < 0) throw new UsageError(`--partition: ${JSON.stringify(p)} is not a partition number`);
      return p;
    });
    const connection = kafkaConnectionFromArgv(argv, 'meter-ledger');
    const { openLedger } = await import('../ledger/index.js');
    const { createKafka } = await import('../kafka/client.js');
    const { ledgerStats } = await import('../billing/index.js');
    const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: reset === undefined, applicationName: 'meter-ledger' });
    const admin = createKafka(connection, silentLogger).admin();
    try {
      let logs: Map<number, { low: number; high: number }>;
      try {
        await admin.connect();
        logs = new Map((await admin.fetchTopicOffsets(argv.topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
      } catch (error) {
        throw new MeterError(`cannot read topic ${argv.topic} at ${connection.brokers.join(',')}: ${errorMessage(error)}; check --brokers and --topic`);
      }
      const ours = (await ledger.offsets()).filter((o) => o.group === argv.group && o.topic === argv.topic);
      const partitions = [...new Set([...logs.keys(), ...ours.map((o) => o.partition)])].sort((a, b) => a - b).filter((p) => !only || only.includes(p));
      const rows = partitions.map((partition) => {
        const next = ours.find((o) => o.partition === partition)?.nextOffset;
        const log = logs.get(partition);
        const state =
          next === undefined ? 'not billed yet' : !log ? 'no such partition' : log.high < next ? 'LOG BEHIND LEDGER' : log.low > next ? 'retention gap' : 'ok';
        return { partition, ledgerNextOffset: next ?? null, logStart: log?.low ?? null, logEnd: log?.high ?? null, state };
      });
      const resets = [];
      if (reset) {
        const targets = rows.filter((r) => (only ? true : r.state === 'LOG BEHIND LEDGER') && r.logStart !== null);
        if (targets.length === 0) {
          throw new UsageError(
            only ? `--partition: ${only.join(',')} not in topic ${argv.topic}` : `no partition of ${argv.topic} has its log behind the ledger; name one with --partition to reset it anyway`,
          );
        }
        for (const r of targets) {
          const low = r.logStart!;
          const high = r.logEnd!;
          const next = r.ledgerNextOffset;
          const toOffset = reset === 'start' ? low : high;
          // What the move passes over, never to be billed: to the end, the log from where billing
          // would have gone on; to the start, only offsets the ledger had not reached that are gone.
          const from = next !== null && next >= low && next <= high ? next : low;
          const skipped = reset === 'end' ? high - from : next !== null && next < low ? low - next : 0;
          const done = await ledger.resetOffset({
            group: argv.group,
            topic: argv.topic,
            partition: r.partition,
            toOffset,
            skipped,
            reason: `${argv.reason ?? 'reset'} (reset to the log ${reset}, log ${r.logStart}..${r.logEnd})`,
            at: Date.now(),
          });
          resets.push(done);
          r.ledgerNextOffset = toOffset;
          r.state = 'ok';
        }
      }
      const stats = await ledgerStats(ledger);
      const history = await ledger.offsetResets();
      if (format === 'json') {
        process.stdout.write(
          `${JSON.stringify({ ledger: ledger.identity.name, group: argv.group, topic: argv.topic, partitions: rows, resets, history, unbilledOffsets: { lost: stats.lost, skipped: stats.skipped } }, null, 2)}\n`,
        );
        return;
      }
      const out: string[] = [`ledger ${ledger.identity.name}, group ${argv.group}, topic ${argv.topic}`];
      out.push(['PARTITION', 'LEDGER NEXT', 'LOG START', 'LOG END', 'STATE'].join('  '));
      for (const r of rows) out.push([String(r.partition).padStart(9), String(r.ledgerNextOffset ?? '-').padStart(11), String(r.logStart ?? '-').padStart(9), String(r.logEnd ?? '-').padStart(7), r.state].join('  '));
      for (const d of resets) out.push(`reset partition ${d.partition}: ${d.fromOffset} -> ${d.toOffset}, ${d.skipped} offset(s) passed over unbilled; recorded in the ledger`);
      if (history.length && !reset) {
        out.push('recorded resets:');
        for (const h of history) out.push(`  ${new Date(h.at).toISOString()}  ${h.group} ${h.topic}/${h.partition}: ${h.fromOffset} -> ${h.toOffset}, skipped ${h.skipped}: ${h.reason}`);
      }
      out.push(`never billed: ${stats.lost} offset(s) lost to retention, ${stats.skipped} skipped by resets`);
      if (!reset && rows.some((r) => r.state === 'LOG BEHIND LEDGER')) {
        out.push(`the log is behind the ledger: once you know why, run this with --reset-to-log start (bill what the log holds now) or end`);
      }
      process.stdout.write(`${out.join('\n')}\n`);
    } finally {
      await admin.disconnect().catch(() => {});
      await ledger.close();
    }
  },
};

/** `meter ledger prune`: everything retention allows, in small transactions, and what is left. */
async function prune(argv: LedgerArgv, format: string): Promise<void> {
  const { parseDuration } = await import('../worker/duration.js');
  const backMs = parseDuration('late-limit', argv['late-limit'], { maxMs: 366 * 86_400_000 });
  const keepRawMs = /^0+[a-z]*$/.test(String(argv['keep-raw']).trim()) ? 0 : parseDuration('keep-raw', argv['keep-raw'], { maxMs: 100 * 366 * 86_400_000 });
  const { openLedger } = await import('../ledger/index.js');
  const { pruneLedger } = await import('../billing/retention.js');
  const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { applicationName: 'meter-ledger' });
  try {
    const result = await pruneLedger(ledger, { window: { aheadMs: 5 * 60_000, backMs }, keepRawMs });
    const state = await ledger.pruneState();
    const before = result.before === null ? null : new Date(result.before).toISOString();
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ ledger: ledger.identity.name, deleted: result.deleted, prunedBefore: before, reason: result.reason ?? null, rawSamples: state.rawSamples }, null, 2)}\n`);
      return;
    }
    process.stdout.write(
      result.before === null
        ? `nothing to prune: ${result.reason}; ${state.rawSamples} raw sample(s) kept\n`
        : `pruned ${result.deleted} raw sample(s) starting before ${before}; ${state.rawSamples} kept (rollups and closed invoices stay)\n`,
    );
  } finally {
    await ledger.close();
  }
}
