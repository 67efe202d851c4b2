// The `meter` binary: one yargs entry point that dispatches to one module per command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MeterError, UsageError, errorMessage } from './errors.js';
import { checkConfigValues, isPasswordFlag, readConfigFile, type DeclaredOptions, type LoadedConfig } from '../config/config-file.js';
import { commands } from '../commands/index.js';

/**
 * A password on the command line shows in `ps` and the shell's history: refused before anything is
 * parsed (and without repeating it). METER_SASL_PASSWORD reaches yargs as the same key, so the flag
 * stays declared (hidden) for the environment's sake and is refused here as a flag.
 */
function refusePasswordFlag(argv: string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name && (isPasswordFlag(name) || name === 'no-sasl-password')) {
      throw new UsageError('--sasl-password: no flag takes a password (it would show in the process list and shell history); set METER_SASL_PASSWORD or give --sasl-password-file FILE');
    }
  }
}

function report(error: unknown): number {
  if (error instanceof UsageError || error instanceof MeterError) {
    process.stderr.write(`meter: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`meter: unexpected error: ${errorMessage(error)}\n`);
  if (process.env.METER_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('meter: set METER_DEBUG=1 for the stack trace, and please report it\n');
  return 1;
}

/**
 * --home decides other flags' defaults (spool, ledger, broker data), which yargs computes before any
 * middleware runs, so it is applied to the environment before parsing.
 */
function applyHomeFlag(argv: string[]): void {
  const i = argv.findIndex((a) => a === '--home' || a.startsWith('--home='));
  if (i < 0) return;
  const value = argv[i]!.includes('=') ? argv[i]!.slice('--home='.length) : argv[i + 1];
  if (value) process.env.METER_HOME = value;
}

export async function main(argv: string[]): Promise<void> {
  try {
    refusePasswordFlag(argv);
  } catch (error) {
    process.exitCode = report(error);
    return;
  }
  applyHomeFlag(argv);
  const config: LoadedConfig = {};
  let parser = yargs(argv)
    .scriptName('meter')
    .usage('$0 <command> [options]\n\nUsage metering and billing for a fleet of machines, over Apache Kafka.')
    .env('METER')
    .config('config', 'JSON or YAML file of option values (flags and METER_* variables win over it)', (path: string) => readConfigFile(path, config))
    .options({
      home: { type: 'string', global: true, describe: "Directory for meter's data: ledger, spools, local broker (env METER_HOME)", defaultDescription: '~/.local/share/meter' },
      'log-level': { type: 'string', global: true, choices: ['debug', 'info', 'warn', 'error'], describe: 'Log detail (env METER_LOG_LEVEL)' },
      // Read straight from the environment by the modules that need them; declared so that
      // .env('METER') under .strict() does not reject them as unknown flags.
      cache: { type: 'string', global: true, hidden: true },
      debug: { type: 'boolean', global: true, hidden: true },
      'sasl-password': { type: 'string', global: true, hidden: true },
      // The test runner's (test/run.mjs): its broker, secured listeners, per-file timeout and process marks.
      'test-brokers': { type: 'string', global: true, hidden: true },
      'test-secure': { type: 'string', global: true, hidden: true },
      'test-file-timeout': { type: 'string', global: true, hidden: true },
      'test-marks': { type: 'string', global: true, hidden: true },
      'exit-with-parent': { type: 'string', global: true, hidden: true },
    })
    .middleware(((args: Record<string, unknown>, instance: { getOptions(): DeclaredOptions }) => {
      checkConfigValues(config, instance.getOptions(), args, argv);
      if (typeof args['log-level'] === 'string') process.env.METER_LOG_LEVEL = args['log-level'];
    }) as never)
    .strict()
    .demandCommand(1, 'Name a command; see meter --help')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error) => {
      if (error instanceof UsageError || error instanceof MeterError) throw error;
      // yargs wraps what our config parser throws in a YError; other errors are bugs, reported as such.
      if (error && error.name !== 'YError') throw error;
      // yargs spreads some messages over lines ("Invalid values:\n  Argument: x, Given: ..."): one line.
      const line = (message || errorMessage(error))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .join(' ');
      throw new UsageError(line.startsWith('--') ? line : `${line} (see meter --help)`);
    });
  for (const command of commands) parser = parser.command(command);
  try {
    await parser.parseAsync();
  } catch (error) {
    process.exitCode = report(error);
  }
}


export async function run(): Promise<void> {
  await main(hideBin(process.argv));
}
