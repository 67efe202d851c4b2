// `meter budgets`: each budget's actual and forecast cost for the billing period, for people (a table)
// or scripts (JSON), with an exit code for cron and CI: 0 when every forecast is within budget, 3 when
// any is forecast to exceed it. `--notify URL` posts each threshold crossed once per period.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import type { BudgetStatus } from '../billing/index.js';
import { budgetBar, textTable } from '../format/index.js';
import type { ConfiguredArgv } from '../config/resolve.js';

interface BudgetsArgv extends ConfiguredArgv {
  ledger?: string;
  rates?: string;
  budgets?: string;
  period?: string;
  format: string;
  notify?: string;
  now?: string;
}

/** Exit code when any budget is forecast to be exceeded. */
export const EXIT_OVER_BUDGET = 3;


export function formatBudgetTable(statuses: BudgetStatus[], whatIf = false): string {
  const rows = statuses.map((s) => [
    s.name,
    s.actual,
    s.forecast,
    s.budget,
    `${s.forecastPercent.toFixed(1)}%`,
    budgetBar(s.forecastPercent, 20, true),
    s.level === 'over' ? 'OVER' : s.level === 'warn' ? 'WARN' : 'ok',
  ]);
  const head = ['BUDGET', 'ACTUAL', 'FORECAST', `LIMIT ${statuses[0]?.currency ?? ''}`.trim(), 'FCST%', 'FORECAST VS BUDGET', ''];
  const right = new Set([1, 2, 3, 4]);
  const notes = [...new Set(statuses.map((s) => s.forecastNote))].map((n) => `forecast: ${n}`);
  for (const s of statuses) if (s.forecastLower !== null) notes.push(`  ${s.name}: 80% interval ${s.forecastLower} to ${s.forecastUpper}`);
  if (whatIf) notes.unshift('WHAT-IF: priced with the --rates card, not the prices in the ledger');
  return [...textTable(head.map((header, i) => ({ header, align: right.has(i) ? 'right' : 'left' })), rows), ...notes].join('\n') + '\n';
}

export const budgetsCommand: CommandModule<object, BudgetsArgv> = {
  command: 'budgets',
  describe: 'Actual, forecast and budget per budget line; exit 3 when any is forecast to exceed',
  builder: (yargs: Argv) =>
    yargs
      .options({
        ledger: ledgerFlag('Ledger written by `meter worker`'),
        budgets: { type: 'string', describe: 'A rate card file whose budgets: list to use (its prices are not used)', defaultDescription: 'the budgets stored with the price version in force' },
        rates: { type: 'string', describe: "What-if: price with this rate card (and its budgets) instead of the ledger's price versions" },
        period: { type: 'string', describe: 'Billing period, a UTC calendar month YYYY-MM', defaultDescription: 'the current month' },
        format: { type: 'string', default: 'table', describe: 'Output format: table or json' },
        notify: { type: 'string', describe: 'Webhook URL: POST a JSON alert for each budget passing 80% or 100%, once per period' },
        now: { type: 'string', hidden: true, describe: 'Pretend it is this instant (forecasts, the default period)' },
      })
      .example('$0 budgets', 'every budget this month (from the prices in force), with its forecast')
      .example('$0 budgets --budgets rates.yaml --format json || page-oncall', 'exit 3 when a budget is forecast to be exceeded')
      .example('$0 budgets --notify https://hooks.example/meter', 'alert a webhook once per threshold') as unknown as Argv<BudgetsArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table or json`);
    let notifyUrl: URL | undefined;
    if (argv.notify !== undefined) {
      try {
        notifyUrl = new URL(argv.notify);
      } catch {
        throw new UsageError(`--notify: ${JSON.stringify(argv.notify)} is not a URL; give http(s)://host/path`);
      }
      if (notifyUrl.protocol !== 'http:' && notifyUrl.protocol !== 'https:') {
        throw new UsageError(`--notify: only http and https webhooks are supported, not ${notifyUrl.protocol}`);
      }
    }
    const { budgetsInForce, evaluateBudgets, loadRateCard, notifyBudgets, parseInstant } = await import('../billing/index.js');
    const { openLedger } = await import('../ledger/index.js');
    const whatIf = argv.rates === undefined ? undefined : loadRateCard(argv.rates);
    const fromFile = argv.budgets === undefined ? undefined : loadRateCard(argv.budgets);
    const now = argv.now ? parseInstant('now', argv.now) : Date.now();
    // Notifying records what was sent in the ledger, so it opens it for writing.
    const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: notifyUrl === undefined });
    try {
      // Budgets: a file's, the what-if card's, else those stored with the price version in force now.
      let budgets = fromFile?.budgets ?? (whatIf?.budgets?.length ? whatIf.budgets : undefined);
      let source = argv.budgets ? `rate card ${argv.budgets}` : argv.rates ? `rate card ${argv.rates}` : 'the price version in force';
      if (!budgets) {
        const inForce = await budgetsInForce(ledger, now);
        budgets = inForce.budgets;
        if (inForce.version) source = `price version ${inForce.version.digest.slice(0, 12)}`;
      }
      if (!budgets?.length) {
        throw new UsageError(`no budgets in ${source}; pass --budgets with a rate card that has a budgets: list (see examples/rates.example.yaml), or add one with \`meter rates add\``);
      }
      const statuses = await evaluateBudgets(ledger, { budgets, now, period: argv.period, whatIf });
      if (format === 'json') process.stdout.write(JSON.stringify({ period: statuses[0]?.period, whatIf: Boolean(whatIf), budgets: statuses }, null, 2) + '\n');
      else process.stdout.write(formatBudgetTable(statuses, Boolean(whatIf)));
      const over = statuses.some((s) => s.level === 'over');
      if (over) process.exitCode = EXIT_OVER_BUDGET;
      if (notifyUrl) {
        const result = await notifyBudgets(ledger, statuses, {
          url: notifyUrl.toString(),
          now,
          onRetry: (alert, attempt, error) =>
            process.stderr.write(`meter budgets: webhook failed for ${alert.budget} at ${alert.threshold}% (${error}); retry ${attempt}\n`),
        });
        process.stderr.write(`meter budgets: notified ${result.sent.length}, already sent ${result.skipped}, failed ${result.failed.length}\n`);
        if (result.failed.length > 0) {
          process.stderr.write(
            `meter: webhook ${notifyUrl.host} did not accept ${result.failed.length} alert(s) (${result.failed[0]!.error}); they will be sent on the next run\n`,
          );
          // Over budget still wins: it is what cron and CI act on.
          if (!over) process.exitCode = 1;
        }
      }
    } finally {
      await ledger.close();
    }
  },
};
