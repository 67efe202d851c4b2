// One logger for every mode: human lines on a TTY, JSON lines otherwise (for files and collectors).
// kafkajs logs through it too, so nothing else writes to the terminal behind our back.
import { logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** JSON lines; defaults to true when the stream is not a TTY. */
  json?: boolean;
  level?: LogLevel;
  fields?: LogFields;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const json = options.json ?? !stream.isTTY;
  const level = options.level ?? 'info';
  const min = RANK[level] ?? RANK.info;
  const base = options.fields ?? {};

  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    const all = { ...base, ...fields };
    if (json) {
      stream.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...all }) + '\n');
      return;
    }
    const time = new Date().toTimeString().slice(0, 8);
    const extras = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const tag = lvl === 'info' ? '' : `${lvl.toUpperCase()} `;
    stream.write(`${time} ${tag}${msg}${extras ? `  ${extras}` : ''}\n`);
  };

  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ stream, json, level, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything: for the console, where nothing may print over the screen. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

/**
 * Routes kafkajs's own log lines through our logger. kafkajs is chatty at info (every join, every
 * connect), so its info lines go to debug; its warnings and errors stay as they are.
 */
export function kafkaLogCreator(logger: Logger, options: { quiet?: boolean } = {}): logCreator {
  return () => ({ level, log }) => {
    if (options.quiet) {
      // The caller reports broker trouble itself (once per outage); kafkajs's per-retry lines are detail.
      const { message: text, ...rest } = log as { message: string } & LogFields;
      logger.debug(text, { component: `kafkajs:${log.namespace ?? ''}`, error: rest.error });
      return;
    }
    const { message, ...extra } = log as { message: string } & LogFields;
    delete extra.timestamp;
    delete extra.logger;
    const fields = { component: `kafkajs:${log.namespace ?? ''}`, ...extra };
    delete (fields as LogFields).namespace;
    if (level === KafkaLogLevel.ERROR) logger.error(message, fields);
    else if (level === KafkaLogLevel.WARN) logger.warn(message, fields);
    else logger.debug(message, fields);
  };
}
