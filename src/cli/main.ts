// The `meter` binary: one yargs entry point that dispatches to one module per command.
import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parse as parseYaml } from 'yaml';
import { MeterError, UsageError, errorMessage } from './errors.js';
import { commands } from '../commands/index.js';

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--config: cannot read ${path}; give a readable JSON or YAML file`);
  }
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config: ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${errorMessage(error).split('\n')[0]}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config: ${path} must hold an object of flag names to values`);
  }
  if (Object.keys(parsed).some(isPasswordFlag)) {
    throw new UsageError(`--config: ${path} sets sasl-password; keep the password out of config files: set METER_SASL_PASSWORD or sasl-password-file`);
  }
  return parsed as Record<string, unknown>;
}

/** The password flag that no command accepts, in any of yargs's spellings. */
const isPasswordFlag = (name: string): boolean => name === 'sasl-password' || name === 'saslPassword';

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
  let parser = yargs(argv)
    .scriptName('meter')
    .usage('$0 <command> [options]\n\nUsage metering and billing for a fleet of machines, over Apache Kafka.')
    .env('METER')
    .config('config', 'JSON or YAML file of option values (flags and METER_* variables win over it)', readConfigFile)
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
    .middleware((args) => {
      if (typeof args['log-level'] === 'string') process.env.METER_LOG_LEVEL = args['log-level'];
    })
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
      const line = (message || errorMessage(error)).split('\n')[0]!;
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
