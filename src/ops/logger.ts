import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
}

/**
 * Structured JSON logs (one line per event worth knowing), pretty on a terminal. Components log
 * through `logger.child({ component })`. Logs go to stderr so stdout stays free for data and the
 * status line.
 */
export function createLogger(options: LoggerOptions = { level: 'info', format: 'auto' }): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      level: options.level,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level: options.level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything, for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
