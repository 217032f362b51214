/**
 * One log line per event, as text (`2025-01-01T00:00:00.000Z stagewatch-agent: msg`) or as a JSON
 * object with a level (`--log-format json`) for log shippers. Written here rather than taken from
 * pino: both tools write a handful of lines a minute, the text form must stay as it is (operators
 * and tests read it), and the single-file agent bundle should not carry a logging framework.
 */
export const LOG_FORMATS = ['text', 'json'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  /** Logs at info, or at warn/error where the message starts `WARNING:`/`ERROR:` (the convention every call site already follows). */
  (msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Text lines start with an ISO time (daemons) or not (one-shot commands). */
  timestamps?: boolean;
  write?: (line: string) => void;
  now?: () => number;
}

const PREFIX = /^(WARNING|ERROR):\s*/;

/** The level a message carries by its `WARNING:`/`ERROR:` prefix, and the message without it. */
export function levelOf(msg: string): { level: LogLevel; text: string } {
  const m = PREFIX.exec(msg);
  if (!m) return { level: 'info', text: msg };
  return { level: m[1] === 'ERROR' ? 'error' : 'warn', text: msg.slice(m[0].length) };
}

/** Formats one record; pure, so both forms are pinned by tests. */
export function formatLogLine(tool: string, format: LogFormat, level: LogLevel, msg: string, t: number, timestamps: boolean): string {
  if (format === 'json') return `${JSON.stringify({ time: new Date(t).toISOString(), level, tool, msg: levelOf(msg).text })}\n`;
  const text = level === 'info' || level === 'debug' || PREFIX.test(msg) ? msg : `${level === 'warn' ? 'WARNING' : 'ERROR'}: ${msg}`;
  return `${timestamps ? `${new Date(t).toISOString()} ` : ''}${tool}: ${text}\n`;
}

export function makeLogger(tool: string, opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? 'text';
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info');
  const write = opts.write ?? ((line: string) => void process.stderr.write(line));
  const now = opts.now ?? Date.now;
  const emit = (level: LogLevel, msg: string): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    write(formatLogLine(tool, format, level, msg, now(), opts.timestamps ?? true));
  };
  const log = ((msg: string) => emit(levelOf(msg).level, msg)) as Logger;
  log.debug = (m) => emit('debug', m);
  log.info = (m) => emit('info', m);
  log.warn = (m) => emit('warn', m);
  log.error = (m) => emit('error', m);
  return log;
}
