// `meter invoice`: usage and cost per machine or label over a billing period, from the ledger; and a
// period's life after it ends: `close` (store it, final), `verify` (rebuild and compare), `explain`
// (where one line comes from). The logic is in src/billing; this file reads flags and prints.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import type { ConfiguredArgv } from '../config/resolve.js';

interface InvoiceArgv extends ConfiguredArgv {
  action?: 'close' | 'verify' | 'explain';
  ledger?: string;
  from?: string;
  to?: string;
  period?: string;
  by: string;
  format: string;
  rates?: string;
  now?: string;
  grace: string;
  force: boolean;
  key?: string;
}

function grouping(value: string): 'machine' | { label: string } {
  const m = /^label:(.+)$/.exec(value.trim());
  if (value.trim() === 'machine') return 'machine';
  if (m) return { label: m[1]!.trim() };
  throw new UsageError(`--by: ${JSON.stringify(value)} is not machine or label:KEY (e.g. --by label:team)`);
}

export const invoiceCommand: CommandModule<object, InvoiceArgv> = {
  command: 'invoice [action]',
  describe: 'Usage and cost per machine or label for a billing period; close, verify or explain a period',
  builder: (yargs: Argv) =>
    yargs
      .positional('action', {
        choices: ['close', 'verify', 'explain'] as const,
        describe: 'close: store the period for good; verify: rebuild a closed period and compare; explain: where a line comes from',
      })
      .options({
        ledger: ledgerFlag('Ledger written by `meter worker`'),
        period: { type: 'string', describe: 'Billing period, a UTC calendar month YYYY-MM', defaultDescription: 'the current month' },
        from: { type: 'string', describe: 'Start, ISO date or date-time (UTC unless an offset is given)', defaultDescription: 'start of the period' },
        to: { type: 'string', describe: 'End (exclusive), ISO date or date-time', defaultDescription: 'end of the period' },
        by: { type: 'string', default: 'machine', describe: 'One line per machine, or per value of a label: label:KEY' },
        format: { type: 'string', default: 'table', describe: 'Output format: table, csv or json' },
        rates: { type: 'string', describe: "What-if: price with this rate card instead of the ledger's price versions (said in the output)" },
        grace: { type: 'string', default: '72h', describe: 'close: how long after its end a period may be closed (samples may still arrive)' },
        force: { type: 'boolean', default: false, describe: 'close: close before the grace period has passed' },
        key: { type: 'string', describe: 'explain: the line, a machine (or a label value with --by label:KEY)' },
        now: { type: 'string', hidden: true, describe: 'Pretend it is this instant (forecasts, the default period, the grace period)' },
      })
      .example('$0 invoice', 'this month so far, per machine, with a forecast')
      .example('$0 invoice --period 2026-11 --by label:team --format csv', 'November per team, as CSV')
      .example('$0 invoice --from 2026-11-01 --to 2026-11-08 --format json', 'the first week of November as JSON')
      .example('$0 invoice close --period 2026-11', 'store November for good (72 h after it ended)')
      .example('$0 invoice verify --period 2026-11', 'rebuild closed November and compare its digest')
      .example('$0 invoice explain --period 2026-11 --key web-1', "web-1's hours, samples, prices and coverage") as unknown as Argv<InvoiceArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'csv' && format !== 'json') {
      throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table, csv or json`);
    }
    const by = grouping(argv.by);
    const { billingPeriod, loadRateCard, parseInstant } = await import('../billing/index.js');
    const { parseDuration } = await import('../worker/duration.js');
    const now = argv.now ? parseInstant('now', argv.now) : Date.now();
    const period = billingPeriod(now, argv.period);
    const whatIf = argv.rates === undefined ? undefined : loadRateCard(argv.rates);
    const action = argv.action;
    if (action && argv.period === undefined) throw new UsageError(`meter invoice ${action} needs --period YYYY-MM`);
    if (action && (argv.from || argv.to)) throw new UsageError(`meter invoice ${action} works on a whole period: give --period, not --from/--to`);
    if (action && whatIf) throw new UsageError(`meter invoice ${action} uses the ledger's prices; leave out --rates`);
    if (action === 'explain' && !argv.key) throw new UsageError('meter invoice explain needs --key (a machine, or a label value with --by label:KEY)');
    if (action && format === 'csv') throw new UsageError(`meter invoice ${action}: --format is table or json`);
    const graceMs = parseDuration('grace', argv.grace, { maxMs: 366 * 86_400_000 });
    const { openLedger } = await import('../ledger/index.js');
    const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: action !== 'close', applicationName: 'meter-invoice' });
    try {
      const out = await import('./invoice-actions.js');
      if (action === 'close') await out.close(ledger, { period, now, graceMs, force: argv.force, format });
      else if (action === 'verify') await out.verify(ledger, { period, format });
      else if (action === 'explain') await out.explain(ledger, { period, key: argv.key!, by, format, now });
      else {
        const from = argv.from ? parseInstant('from', argv.from) : period.from;
        const to = argv.to ? parseInstant('to', argv.to) : period.to;
        if (to <= from) throw new UsageError(`--to must be after --from (got ${new Date(from).toISOString()} to ${new Date(to).toISOString()})`);
        await out.show(ledger, { from, to, by, now, whatIf, format, width: Math.max(60, Math.min(process.stdout.columns || 80, 80)) });
      }
    } finally {
      await ledger.close();
    }
  },
};
