import { pino, type DestinationStream, type Logger } from 'pino';
import { redactConfig, redactSecrets } from './redact.js';

export type { Logger };

/**
 * How createLogger writes: pino level, JSON or pretty lines (`auto`: pretty on a TTY), fields on every
 * line, the destination.
 */
export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
  /** Fields on every line, e.g. `{ role: 'ingest' }` when several roles share one log store. */
  base?: Record<string, unknown>;
  /** Where JSON lines go instead of stderr (tests read them back). */
  destination?: DestinationStream;
}

/** Keys whose values are secrets wherever they appear (a logged config, request headers). */
const SECRET_PATHS = [
  'token',
  '*.token',
  'config.api.token',
  'config.bus.sasl.password',
  'password',
  '*.password',
  '*.embeddedPassword',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
];
/** Keys that hold URLs; only their credentials are hidden, the host stays readable. */
const URL_KEYS = new Set(['url', 'brokers']);
const URL_PATHS = [...[...URL_KEYS].flatMap((k) => [k, `*.${k}`]), 'config.store.url', 'config.bus.brokers'];

function censor(value: unknown, path: string[]): unknown {
  if (!URL_KEYS.has(path[path.length - 1] ?? '')) return '[redacted]';
  if (typeof value === 'string') return redactSecrets(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? redactSecrets(v) : v));
  return value;
}

/** Error messages and stacks may quote a connection string. */
function serializeErr(err: unknown): unknown {
  if (typeof err === 'string') return redactSecrets(err);
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err);
  out.message = redactSecrets(out.message);
  if (out.stack) out.stack = redactSecrets(out.stack);
  return out;
}

/**
 * Structured JSON logs (one line per event worth knowing), pretty on a terminal. Components log
 * through `logger.child({ component })`. Logs go to stderr so stdout stays free for data and the
 * status line. Secrets are removed before a line is written: token/password/authorization values
 * entirely, URL credentials (`postgres://user:***@host`) in URL fields, errors and messages.
 */
export function createLogger(options: LoggerOptions = { level: 'info', format: 'auto' }): Logger {
  const common: pino.LoggerOptions = {
    level: options.level,
    base: { pid: process.pid, ...options.base },
    redact: { paths: [...SECRET_PATHS, ...URL_PATHS], censor },
    serializers: { err: serializeErr },
    // Any field may quote a registered secret (a reason, an error text copied into a string).
    formatters: { log: (fields) => redactConfig(fields) },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a)) as typeof args);
      },
    },
  };
  if (options.destination) return pino(common, options.destination);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true);
  if (pretty) {
    return pino({
      ...common,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(common, pino.destination({ dest: 2, sync: false }));
}

/** A logger that drops everything, for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
