import { z } from 'zod';
import { exchanges } from '../sources/registry.js';

/**
 * Query-string schemas of every route, built from config (the allowed intervals are the
 * processor's). The same schemas validate requests and, through z.toJSONSchema, describe the
 * parameters in /api/openapi.json. Objects are strict: an unknown parameter is a 400, not ignored.
 */

const SYMBOL = /^[A-Za-z0-9]{2,20}$/;
const EPOCH_MS = /^\d{1,15}$/;

const symbol = z
  .string({ error: 'required: a symbol such as BTCUSDT' })
  .regex(SYMBOL, { message: 'expected a symbol such as BTCUSDT (2-20 letters or digits)' })
  .transform((s) => s.toUpperCase())
  .meta({ description: 'Binance symbol, case-insensitive, e.g. BTCUSDT' });

/**
 * An exchange or market name: one the source registry knows (a 400 listing them otherwise, as a
 * typo such as `market=usd` is not an instrument that happens to have no data).
 */
const name = (what: string, known: readonly string[]) =>
  z
    .enum(known as [string, ...string[]], { error: `expected ${what}: one of ${known.join(', ')}` })
    .optional()
    .meta({ description: `${what[0]?.toUpperCase()}${what.slice(1)}, one of ${known.join(', ')}; default: the first configured market's` });
const EXCHANGES = Object.keys(exchanges);
const MARKETS = [...new Set(Object.values(exchanges).flatMap((e) => e.markets))];
/** With `symbol`, the instrument's identity; absent: the first configured market (source.markets). */
const instrument = { exchange: name('an exchange', EXCHANGES), market: name('a market', MARKETS) };

/**
 * The times a query may name: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. JavaScript dates
 * reach further, but a later year prints as `+010000-…`, which neither ISO 8601's four-digit year
 * nor PostgreSQL accepts.
 */
export const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Epoch ms, or the epoch ms of an ISO 8601 time whose calendar date exists; undefined otherwise. */
function parseInstant(text: string): number | undefined {
  if (EPOCH_MS.test(text)) return Number(text);
  const date = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!date) return undefined;
  const [year, month, day] = date.slice(1).map(Number) as [number, number, number];
  // Date.parse rolls 2024-02-30 over to 1 March: a day its month lacks is a typo, not a time.
  if (month < 1 || month > 12 || new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch milliseconds or an ISO 8601 date-time (`2024-08-09T00:00:00Z`), as epoch ms within 1970–9999. */
const instant = (description: string) =>
  z
    .string()
    .refine((s) => parseInstant(s) !== undefined, {
      message: 'expected epoch milliseconds or an ISO 8601 time such as 2024-08-09T00:00:00Z',
    })
    .transform((s) => parseInstant(s) as number)
    .refine((ms) => ms >= 0 && ms <= MAX_TIME_MS, {
      message: `out of range: expected a time from 0 (1970-01-01T00:00:00Z) to ${MAX_TIME_MS} (9999-12-31T23:59:59.999Z)`,
    })
    .optional()
    .meta({ description });

const limit = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: `expected a whole number from 1 to ${max}` })
    .transform(Number)
    .refine((n) => n >= 1 && n <= max, { message: `expected a whole number from 1 to ${max}` })
    .optional()
    .transform((n) => n ?? fallback)
    .meta({ description: `Most rows to return (1-${max}, default ${fallback}); the newest are returned.` });

const from = instant('Start of the time range, inclusive: epoch ms or ISO 8601');
const to = instant('End of the time range, exclusive: epoch ms or ISO 8601');

const list = <T extends string>(item: z.ZodType<T, string>, what: string) =>
  z
    .string({ error: `required: a comma-separated list of ${what}` })
    .transform((s) => s.split(',').filter((x) => x.length > 0))
    .pipe(z.array(item).min(1, { message: `expected a comma-separated list of ${what}` }));

/** A range whose end is not after its start can only be a mistake; say so instead of answering []. */
const ordered = <T extends { from?: number | undefined; to?: number | undefined }>(q: T) => q.from === undefined || q.to === undefined || q.from < q.to;
const orderedMessage = { message: 'must be after from', path: ['to'] };

/** `bookDepth`: GET /api/book's default levels per side (config book.depth). */
export function buildSchemas(intervals: readonly string[], bookDepth = 20) {
  const [first = '1m', ...rest] = intervals;
  const interval = z
    .enum([first, ...rest], { error: `expected one of ${intervals.join(', ')}` })
    .meta({ description: `Candle interval: ${intervals.join(', ')}` });
  const windowed = { from, to };
  return {
    none: z.strictObject({}),
    candles: z
      .strictObject({ ...instrument, symbol, interval: interval.default(first), ...windowed, limit: limit(500, 5_000) })
      .refine(ordered, orderedMessage),
    trades: z.strictObject({ ...instrument, symbol, limit: limit(100, 1_000) }),
    book: z.strictObject({
      ...instrument,
      symbol,
      depth: limit(bookDepth, 1_000).meta({ description: `Levels per side (1-1000, default ${bookDepth}), best first` }),
    }),
    symbolSeries: z.strictObject({ ...instrument, symbol, ...windowed, limit: limit(500, 5_000) }).refine(ordered, orderedMessage),
    anySymbolEvents: z.strictObject({ ...instrument, symbol: symbol.optional(), ...windowed, limit: limit(100, 1_000) }).refine(ordered, orderedMessage),
    alerts: z.strictObject({
      rule: z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'expected a rule name such as spread-wide' })
        .optional()
        .meta({ description: 'Only the history of this rule' }),
      from,
      limit: limit(100, 1_000),
    }),
    stream: z.strictObject({
      ...instrument,
      symbols: list(
        z
          .string()
          .regex(SYMBOL)
          .transform((s) => s.toUpperCase()),
        'symbols such as BTCUSDT,ETHUSDT',
      ).meta({
        description: 'Comma-separated symbols to receive, e.g. BTCUSDT,ETHUSDT',
      }),
      intervals: list(interval, `intervals (${intervals.join(', ')})`)
        .optional()
        .meta({ description: 'Comma-separated candle intervals to receive; all when absent' }),
      access_token: z.string().optional().meta({ description: 'The API token, for EventSource clients that cannot send an Authorization header' }),
    }),
  };
}

/** The query schemas of every route, by name (buildSchemas). */
export type Schemas = ReturnType<typeof buildSchemas>;
