// `meter invoice`: usage and cost per machine or per label value over a billing period, from the ledger.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';

interface InvoiceArgv {
  ledger?: string;
  from?: string;
  to?: string;
  period?: string;
  by: string;
  format: string;
  rates?: string;
  now?: string;
}

export const invoiceCommand: CommandModule<object, InvoiceArgv> = {
  command: 'invoice',
  describe: 'Usage and cost per machine or label for a billing period, from the ledger',
  builder: (yargs: Argv) =>
    yargs
      .options({
        ledger: ledgerFlag('Ledger written by `meter worker`'),
        period: { type: 'string', describe: 'Billing period, a UTC calendar month YYYY-MM', defaultDescription: 'the current month' },
        from: { type: 'string', describe: 'Start, ISO date or date-time (UTC unless an offset is given)', defaultDescription: 'start of the period' },
        to: { type: 'string', describe: 'End (exclusive), ISO date or date-time', defaultDescription: 'end of the period' },
        by: { type: 'string', default: 'machine', describe: 'One line per machine, or per value of a label: label:KEY' },
        format: { type: 'string', default: 'table', describe: 'Output format: table, csv or json' },
        rates: { type: 'string', describe: 'Rate card, JSON or YAML', defaultDescription: 'DESIGN.md default prices' },
        now: { type: 'string', hidden: true, describe: 'Pretend it is this instant (forecasts, the default period)' },
      })
      .example('$0 invoice', 'this month so far, per machine, with a forecast')
      .example('$0 invoice --period 2026-11 --by label:team --format csv', 'November per team, as CSV')
      .example('$0 invoice --from 2026-11-01 --to 2026-11-08 --format json', 'the first week of November as JSON') as unknown as Argv<InvoiceArgv>,
  handler: async (argv) => {
    const { billingPeriod, computeInvoice, formatInvoice, ledgerStats, loadRateCard, parseInstant } = await import('../billing/index.js');
    const { openLedger } = await import('../ledger/index.js');
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'csv' && format !== 'json') {
      throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table, csv or json`);
    }
    let by: 'machine' | { label: string };
    const m = /^label:(.+)$/.exec(argv.by.trim());
    if (argv.by.trim() === 'machine') by = 'machine';
    else if (m) by = { label: m[1]!.trim() };
    else throw new UsageError(`--by: ${JSON.stringify(argv.by)} is not machine or label:KEY (e.g. --by label:team)`);
    const now = argv.now ? parseInstant('now', argv.now) : Date.now();
    const period = billingPeriod(now, argv.period);
    const from = argv.from ? parseInstant('from', argv.from) : period.from;
    const to = argv.to ? parseInstant('to', argv.to) : period.to;
    if (to <= from) throw new UsageError(`--to must be after --from (got ${new Date(from).toISOString()} to ${new Date(to).toISOString()})`);
    const rateCard = loadRateCard(argv.rates);
    const ledger = await openLedger(ledgerValue(argv.ledger), { readonly: true });
    try {
      const invoice = await computeInvoice(ledger, { from, to, by, rateCard, now });
      // Offsets that were never billed (deleted by retention, passed over by a reset): always in JSON,
      // and said under the table or on stderr whenever there are any.
      const { lost, skipped } = await ledgerStats(ledger);
      const keyTitle = by === 'machine' ? 'MACHINE' : by.label.toUpperCase();
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify({ ...invoice, unbilledOffsets: { lost, skipped } }, null, 2)}\n`);
        return;
      }
      process.stdout.write(formatInvoice(invoice, format, { keyTitle, width: Math.max(60, Math.min(process.stdout.columns || 80, 80)) }));
      if (lost + skipped > 0) {
        const note = `${lost + skipped} Kafka offset(s) in this ledger were never billed: ${lost} deleted by retention before they were read, ${skipped} passed over by \`meter ledger offsets --reset-to-log\`; see \`meter ledger offsets\``;
        (format === 'table' ? process.stdout : process.stderr).write(`${format === 'table' ? '\n' : 'meter invoice: '}${note}\n`);
      }
    } finally {
      await ledger.close();
    }
  },
};
