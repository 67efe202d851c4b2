// `meter forecast`: the period's forecast (the chosen method, its interval and flags), and with
// --backtest the forecasting methods replayed on the ledger's own history, side by side per horizon.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import type { ConfiguredArgv } from '../config/resolve.js';

interface ForecastArgv extends ConfiguredArgv {
  ledger?: string;
  backtest: boolean;
  horizons: string;
  days: number;
  format: string;
  now?: string;
}

export const forecastCommand: CommandModule<object, ForecastArgv> = {
  command: 'forecast',
  describe: "This period's cost forecast with its interval; --backtest: how each method would have done on the ledger's history",
  builder: (yargs: Argv) =>
    yargs
      .options({
        ledger: ledgerFlag('Ledger written by `meter worker`'),
        backtest: { type: 'boolean', default: false, describe: "Replay the ledger's history: error, bias and interval coverage per horizon, per method" },
        horizons: { type: 'string', default: '7,14,21', describe: '--backtest: days before each period end to forecast from, comma-separated' },
        days: { type: 'number', default: 28, describe: '--backtest: also test the periods of this many days ending at every midnight (0: calendar months only)' },
        format: { type: 'string', default: 'table', describe: 'Output format: table or json' },
        now: { type: 'string', hidden: true, describe: 'Pretend it is this instant' },
      })
      .example('$0 forecast', 'this month: actual, forecast and its 80% interval')
      .example('$0 forecast --backtest', 'run-rate, seasonal-naive and the chosen method on the ledger\'s own history') as unknown as Argv<ForecastArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table or json`);
    const horizons = argv.horizons.split(',').map((h) => Number(h.trim()));
    if (horizons.some((h) => !Number.isInteger(h) || h < 1 || h > 31)) throw new UsageError(`--horizons: ${JSON.stringify(argv.horizons)} is not a list of days 1..31, e.g. 7,14,21`);
    if (!Number.isInteger(argv.days) || argv.days < 0 || argv.days > 366) throw new UsageError(`--days: ${argv.days} is not a number of days 0..366`);
    const { parseInstant, computeInvoice, billingPeriod } = await import('../billing/index.js');
    const { openLedger } = await import('../ledger/index.js');
    const now = argv.now ? parseInstant('now', argv.now) : Date.now();
    const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: true, applicationName: 'meter-forecast' });
    try {
      if (!argv.backtest) {
        const period = billingPeriod(now);
        const invoice = await computeInvoice(ledger, { from: period.from, to: period.to, by: 'machine', now });
        const f = invoice.forecastDetail;
        if (format === 'json') process.stdout.write(`${JSON.stringify({ period: period.label, currency: invoice.currency, actual: invoice.total, forecast: f ?? null }, null, 2)}\n`);
        else process.stdout.write(`${period.label}: ${invoice.total} ${invoice.currency} so far, forecast ${f?.total ?? invoice.total}${f?.lower ? ` (${f.level}% interval ${f.lower} to ${f.upper})` : ''}\n${f ? `${f.note}\n` : ''}`);
        return;
      }
      const { ledgerBacktest } = await import('../billing/ledger-backtest.js');
      const result = await ledgerBacktest(ledger, { now, horizonsDays: horizons, slidingDays: argv.days });
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify({ historyFrom: new Date(result.historyFrom).toISOString(), hours: result.hours, rows: result.rows, cases: result.cases, skipped: result.skipped }, null, 2)}\n`);
        return;
      }
      const out = [`backtest on ${result.hours} hours of the ledger's history from ${new Date(result.historyFrom).toISOString()}: forecast minus actual, % of actual`];
      out.push(`${'HORIZON'.padEnd(9)} ${'METHOD'.padEnd(15)} ${'CASES'.padStart(5)} ${'ERROR'.padStart(8)} ${'BIAS'.padStart(8)}  INTERVAL HELD`);
      for (const r of result.rows) {
        const held = r.coveragePercent === null ? '-' : `${r.coveragePercent.toFixed(0)}% of ${r.intervalCases}`;
        out.push(`${`${r.horizonDays} days`.padEnd(9)} ${r.method.padEnd(15)} ${String(r.cases).padStart(5)} ${`${r.meanAbsErrorPercent.toFixed(2)}%`.padStart(8)} ${`${r.biasPercent.toFixed(2)}%`.padStart(8)}  ${held}`);
      }
      if (result.rows.length === 0) out.push('no period to test: the history is shorter than a period (see --days)');
      for (const s of result.skipped.slice(0, 5)) out.push(`skipped: ${s}`);
      if (result.skipped.length > 5) out.push(`skipped: ${result.skipped.length - 5} more`);
      process.stdout.write(`${out.join('\n')}\n`);
    } finally {
      await ledger.close();
    }
  },
};
