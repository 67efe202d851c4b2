// The `meter` binary: one yargs entry point that dispatches to one module per command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { MeterError, UsageError, errorMessage } from './errors.js';
import { checkConfigValues, isPasswordFlag, readConfigFile, type DeclaredOptions, type LoadedConfig } from '../config/config-file.js';
import { givenAsFlag, optionValuesFromEnv } from '../config/env-options.js';
import { resolveConfig, type Env } from '../config/resolve.js';
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

function report(error: unknown, env: Env): number {
  if (error instanceof UsageError || error instanceof MeterError) {
    process.stderr.write(`meter: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`meter: unexpected error: ${errorMessage(error)}\n`);
  if (env.METER_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  else process.stderr.write('meter: set METER_DEBUG=1 for the stack trace, and please report it\n');
  return 1;
}

/** Positional names (`kafka <action>`, `rates <action> [file]`): never taken from METER_* variables. */
const positionals = new Set(commands.flatMap((c) => [...String(c.command ?? '').matchAll(/[<[]([^>\]|.]+)/g)].map((m) => m[1]!)));
/** Options yargs itself declares, which no variable sets. */
const notFromEnv = new Set([...positionals, 'help', 'version', 'config']);

type ParserInstance = { getOptions(): DeclaredOptions & { key: Record<string, unknown>; choices: Record<string, unknown[]> } };

/**
 * Runs the CLI. The environment is read here, once: METER_* variables for the options the running
 * command declares, and the rest into the resolved configuration handed to the command as argv.meter.
 */
export async function main(argv: string[], env: Env = process.env): Promise<void> {
  try {
    refusePasswordFlag(argv);
  } catch (error) {
    process.exitCode = report(error, env);
    return;
  }
  // METER_CONFIG names the config file as --config does (the flag wins); yargs reads the file while parsing.
  if (env.METER_CONFIG && !givenAsFlag('config', argv)) argv = ['--config', env.METER_CONFIG, ...argv];
  const config: LoadedConfig = {};
  let parser = yargs(argv)
    .scriptName('meter')
    .usage('$0 <command> [options]\n\nUsage metering and billing for a fleet of machines, over Apache Kafka.')
    .config('config', 'JSON or YAML file of option values (flags and METER_* variables win over it)', (path: string) => readConfigFile(path, config))
    .options({
      home: { type: 'string', global: true, describe: "Directory for meter's data: ledger, spools, local broker (env METER_HOME)", defaultDescription: '~/.local/share/meter' },
      'log-level': { type: 'string', global: true, choices: ['debug', 'info', 'warn', 'error'], describe: 'Log detail (env METER_LOG_LEVEL)' },
    })
    // Before validation, so that choices and strict mode see what the environment gave: a variable
    // wins over the config file and the default, a flag over the variable.
    .middleware(((args: Record<string, unknown>, instance: ParserInstance) => {
      Object.assign(args, optionValuesFromEnv(instance.getOptions(), env, argv, notFromEnv));
    }) as never, true)
    .middleware(((args: Record<string, unknown>, instance: ParserInstance) => {
      checkConfigValues(config, instance.getOptions(), args, argv, env);
      args.meter = resolveConfig(args, env);
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
    process.exitCode = report(error, env);
  }
}


export async function run(): Promise<void> {
  await main(hideBin(process.argv));
}
