// A logger that keeps what it is told, for tests of the worker's collaborators.
import type { LogFields, Logger } from '../../../src/log/logger.js';

export interface RecordingLogger extends Logger {
  lines: { level: string; msg: string; fields?: LogFields }[];
  text(): string;
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at = (level: string) => (msg: string, fields?: LogFields) => void lines.push({ level, msg, fields });
  const logger: RecordingLogger = {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
    text: () => lines.map((l) => `${l.level} ${l.msg} ${JSON.stringify(l.fields ?? {})}`).join('\n'),
  };
  return logger;
}
