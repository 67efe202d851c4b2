// METER_<FLAG> environment variables, read for the options the running command declares. yargs's
// own .env('METER') takes every METER_* variable as an option, so under .strict() any unrelated or
// other-version variable on a host (METER_FOO=1) broke every command. Here only declared options are
// read; other METER_* variables are left alone. Values are coerced by the declared type (as yargs
// did), and a bad one is a one-line error naming the variable.
import { UsageError } from '../cli/errors.js';
import type { DeclaredOptions } from './config-file.js';
import type { Env } from './resolve.js';

export const envName = (key: string): string => `METER_${key.replace(/-/g, '_').toUpperCase()}`;

const camelCase = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Whether the command line gives this option (any spelling yargs accepts), before a `--`. */
export function givenAsFlag(key: string, commandLine: readonly string[]): boolean {
  const names = new Set([key, camelCase(key), `no-${key}`, `no-${camelCase(key)}`]);
  for (const arg of commandLine) {
    if (arg === '--') return false;
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    if (name !== undefined && names.has(name)) return true;
  }
  return false;
}

type Declared = DeclaredOptions & { key: Record<string, unknown>; choices?: Record<string, unknown[]> };

function coerce(key: string, raw: string, declared: Declared): unknown {
  const variable = envName(key);
  if (declared.boolean.includes(key)) {
    const value = raw.trim().toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
    throw new UsageError(`${variable}: ${JSON.stringify(raw)} is not true or false (for --${key})`);
  }
  if (declared.number.includes(key)) {
    const value = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(value)) throw new UsageError(`${variable}: ${JSON.stringify(raw)} is not a number (for --${key})`);
    return value;
  }
  if (declared.array.includes(key)) return [raw];
  const choices = declared.choices?.[key];
  if (choices && !choices.includes(raw)) throw new UsageError(`${variable}: ${JSON.stringify(raw)} is not one of ${choices.join(', ')} (for --${key})`);
  return raw;
}

/**
 * The values METER_* variables give to the declared options that the command line does not give.
 * Positionals (`meter kafka <action>`) are never taken from the environment. Keys in both spellings.
 */
export function optionValuesFromEnv(
  declared: Declared,
  env: Env,
  commandLine: readonly string[],
  skip: ReadonlySet<string>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(declared.key)) {
    if (skip.has(key) || /[A-Z]/.test(key)) continue;
    const raw = env[envName(key)];
    if (raw === undefined || givenAsFlag(key, commandLine)) continue;
    const value = coerce(key, raw, declared);
    values[key] = value;
    if (camelCase(key) !== key) values[camelCase(key)] = value;
  }
  return values;
}
