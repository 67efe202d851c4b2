// The configuration of one run, resolved once at start from the parsed flags (which already carry
// METER_* variables and the --config file, in that precedence) and the environment, then passed
// down. Nothing later reads process.env for these, and nothing writes it: a child that needs a value
// gets it in its spawn environment (childEnv).
import type { LogLevel } from '../log/logger.js';
import { meterCache, meterHome } from './paths.js';
import { SASL_PASSWORD_ENV } from './options.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface MeterConfig {
  /** meter's data: ledger, spools, local broker. */
  home: string;
  /** Downloaded artifacts: the broker's jars. */
  cache: string;
  logLevel: LogLevel;
  /** METER_SASL_PASSWORD: no flag or config key takes it. */
  saslPassword?: string;
  /** Set by `meter up` on its children: stop when the parent goes (stdin closes). */
  exitWithParent: boolean;
  /** The environment this run started with, for the children it spawns. */
  env: Env;
}

/** The argv key under which the CLI hands the resolved configuration to command handlers. */
export interface ConfiguredArgv {
  meter: MeterConfig;
}

export const EXIT_WITH_PARENT_ENV = 'METER_EXIT_WITH_PARENT';

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function resolveConfig(args: { home?: unknown; 'log-level'?: unknown }, env: Env): MeterConfig {
  const home = typeof args.home === 'string' && args.home.trim() ? args.home : meterHome({ ...env, METER_HOME: undefined });
  const level = args['log-level'];
  return {
    home,
    cache: meterCache(env),
    logLevel: LOG_LEVELS.includes(level as LogLevel) ? (level as LogLevel) : 'info',
    saslPassword: env[SASL_PASSWORD_ENV] || undefined,
    exitWithParent: env[EXIT_WITH_PARENT_ENV] === '1',
    env,
  };
}

/** The environment of a meter child process: this run's, with its resolved home and log level. */
export function childEnv(config: MeterConfig, extra: Env = {}): NodeJS.ProcessEnv {
  return { ...config.env, METER_HOME: config.home, METER_LOG_LEVEL: config.logLevel, ...extra };
}
