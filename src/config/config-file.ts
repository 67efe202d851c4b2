// The --config file: JSON or YAML of option values. yargs applies them without checking their types,
// so a value of the wrong kind (a list where a string belongs, null, an object) would reach a command
// and fail there as a crash. Each value is checked here against its option's declared type, before
// any command runs, and a bad one is a one-line error naming the field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError, errorMessage } from '../cli/errors.js';
import { envName, givenAsFlag } from './env-options.js';
import type { Env } from './resolve.js';

/** What one run of the CLI read from its --config file. */
export interface LoadedConfig {
  path?: string;
  values?: Record<string, unknown>;
}

/** The password flag that no command accepts, in any of yargs's spellings. */
export const isPasswordFlag = (name: string): boolean => name === 'sasl-password' || name === 'saslPassword';

export function readConfigFile(path: string, into: LoadedConfig): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`--config: cannot read ${path}; give a readable JSON or YAML file`);
  }
  const yaml = /\.ya?ml$/i.test(path);
  let parsed: unknown;
  try {
    parsed = yaml ? parseYaml(text, { logLevel: 'error' }) : JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config: ${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${errorMessage(error).split('\n')[0]}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`--config: ${path} must hold an object of flag names to values`);
  }
  if (Object.keys(parsed).some(isPasswordFlag)) {
    throw new UsageError(`--config: ${path} sets sasl-password; keep the password out of config files: set METER_SASL_PASSWORD or sasl-password-file`);
  }
  into.path = path;
  into.values = parsed as Record<string, unknown>;
  return into.values;
}

/** The declared types of the options of the command being run (yargs's getOptions()). */
export interface DeclaredOptions {
  string: string[];
  number: string[];
  boolean: string[];
  array: string[];
}

const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

/**
 * Checks (and, for scalars YAML reads as numbers where a string is meant, converts) each config value
 * against its option's type, in argv (both spellings yargs keeps). Unknown keys are left to yargs's
 * strict mode. Throws a UsageError naming the first bad field.
 */
export function checkConfigValues(config: LoadedConfig, declared: DeclaredOptions, argv: Record<string, unknown>, commandLine: string[], env: Env): void {
  if (!config.values) return;
  const bad = (key: string, what: string, value: unknown) =>
    new UsageError(`--config: ${config.path}: "${key}" must be ${what}, not ${show(value)}`);
  for (const [key, value] of Object.entries(config.values)) {
    const camel = key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const set = (v: unknown) => {
      argv[key] = v;
      if (camel !== key) argv[camel] = v;
    };
    // No flag takes an object, and yargs spreads one into dotted keys (`ledger: {"": 1}` makes argv.ledger
    // an object) even when the command line gives the flag too: refused before the precedence below.
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) throw bad(key, 'a single value', value);
    // A flag on the command line or a METER_* variable wins over the file; its value is yargs's to check.
    if (env[envName(key)] !== undefined || givenAsFlag(key, commandLine)) continue;
    if (declared.array.includes(key)) {
      const list = Array.isArray(value) ? value : [value];
      if (list.some((v) => typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v)))) throw bad(key, 'a list of strings', value);
      set(list.map(String));
    } else if (declared.boolean.includes(key)) {
      if (typeof value !== 'boolean') throw bad(key, 'true or false', value);
    } else if (declared.number.includes(key)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(key, 'a number', value);
    } else if (declared.string.includes(key)) {
      if (typeof value === 'number' && Number.isFinite(value)) set(String(value));
      else if (typeof value !== 'string') throw bad(key, 'a string', value);
    }
  }
}
