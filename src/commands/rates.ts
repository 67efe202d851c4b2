// `meter rates`: prices in the ledger. `add FILE --effective TIME` stores a validated rate card as a
// new, immutable price version; `list` shows every version with its effective time and digest.
// Invoices, budgets and the console price each hour with the version in force at that hour.
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../cli/errors.js';
import { ledgerFlag, ledgerValue } from '../config/ledger-flag.js';
import type { ConfiguredArgv } from '../config/resolve.js';

interface RatesArgv extends ConfiguredArgv {
  action: 'add' | 'list';
  file?: string;
  effective?: string;
  ledger?: string;
  format: string;
}

export const ratesCommand: CommandModule<object, RatesArgv> = {
  command: 'rates <action> [file]',
  describe: 'Price versions in the ledger: add a rate card effective from a time, or list them',
  builder: (yargs: Argv) =>
    yargs
      .positional('action', { choices: ['add', 'list'] as const, describe: 'add: store FILE as a new price version; list: every version' })
      .positional('file', { type: 'string', describe: 'add: the rate card, JSON or YAML (see examples/rates.example.yaml)' })
      .options({
        effective: { type: 'string', describe: 'add: when the version takes effect, ISO date or date-time (UTC unless an offset is given); it prices the hours that start from then' },
        ledger: ledgerFlag('Ledger'),
        format: { type: 'string', default: 'table', describe: 'Output format: table or json' },
      })
      .example('$0 rates add rates-2027.yaml --effective 2027-01-01', 'new prices from January 2027')
      .example('$0 rates list', 'every price version, with its effective time and digest') as unknown as Argv<RatesArgv>,
  handler: async (argv) => {
    const format = argv.format.trim();
    if (format !== 'table' && format !== 'json') throw new UsageError(`--format: ${JSON.stringify(argv.format)} is not table or json`);
    const { addRatesVersion, describeRateCard, ledgerPriceVersions, loadRateCard, parseInstant } = await import('../billing/index.js');
    const { openLedger } = await import('../ledger/index.js');
    if (argv.action === 'add') {
      if (!argv.file) throw new UsageError('meter rates add needs a rate card file: meter rates add FILE --effective TIME');
      if (!argv.effective) throw new UsageError('meter rates add needs --effective TIME: when the prices take effect (e.g. 2027-01-01)');
      const effective = parseInstant('effective', argv.effective);
      const card = loadRateCard(argv.file);
      const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { applicationName: 'meter-rates' });
      try {
        const { version, added, defaultsKept } = await addRatesVersion(ledger, card, effective);
        const kept = defaultsKept && { effectiveFrom: new Date(defaultsKept.effectiveFrom).toISOString(), digest: defaultsKept.digest };
        const what = { added, effectiveFrom: new Date(version.effectiveFrom).toISOString(), digest: version.digest, prices: describeRateCard(card), defaultsKept: kept };
        if (format === 'json') process.stdout.write(`${JSON.stringify(what, null, 2)}\n`);
        else {
          if (kept) process.stdout.write(`kept the defaults that priced the ledger so far as price version ${kept.digest.slice(0, 12)}, effective ${kept.effectiveFrom}\n`);
          process.stdout.write(`${added ? 'added' : 'already in the ledger:'} price version ${version.digest.slice(0, 12)}, effective ${what.effectiveFrom}: ${what.prices}\n`);
        }
      } finally {
        await ledger.close();
      }
      return;
    }
    if (argv.file) throw new UsageError('meter rates list takes no file');
    const ledger = await openLedger(ledgerValue(argv.ledger, argv.meter.home), { readonly: true, applicationName: 'meter-rates' });
    try {
      const versions = (await ledgerPriceVersions(ledger)).map((v) => ({
        effectiveFrom: new Date(v.version.effectiveFrom).toISOString(),
        digest: v.version.digest,
        currency: v.version.card.currency,
        prices: describeRateCard(v.version.card).replace(/ \([^)]*\)$/, ''),
        budgets: v.budgets.length,
        addedAt: new Date(v.addedAt).toISOString(),
      }));
      if (format === 'json') {
        process.stdout.write(`${JSON.stringify({ ledger: ledger.identity.name, versions }, null, 2)}\n`);
        return;
      }
      if (versions.length === 0) {
        const defaults = describeRateCard(loadRateCard()).replace(/ \([^)]*\)$/, '');
        process.stdout.write(
          `no price versions in the ledger yet, so the defaults price every hour (${defaults}); the worker registers its rate card when it starts, or add one with \`meter rates add FILE --effective TIME\`\n`,
        );
        return;
      }
      const lines = versions.map((v) => `${v.effectiveFrom}  ${v.digest.slice(0, 12)}  ${v.prices}${v.budgets ? `, ${v.budgets} budget(s)` : ''}  (added ${v.addedAt})`);
      process.stdout.write(`EFFECTIVE FROM            DIGEST        PRICES\n${lines.join('\n')}\n`);
    } finally {
      await ledger.close();
    }
  },
};
