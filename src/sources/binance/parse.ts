import type { AggTradeEvent, BookTickerEvent, DepthEvent, KlineEvent, Market, MarketEvent, PriceLevel, TimeUnit, TradeEvent } from '../../core/events.js';

/**
 * Pure mappers from one raw combined-stream frame (`{"stream":"btcusdt@trade","data":{...}}`) to
 * a normalized record. No I/O, no clock: the caller stamps `ingestionTimestamp` (epoch µs at
 * receipt). One JSON.parse per frame; price/quantity strings and depth level arrays are passed
 * through as received (after validation), never converted to numbers.
 */

/**
 * Why a frame became a dead letter. The parser's own: `malformed_json`, `unknown_stream`,
 * `invalid_field`, `too_many_digits` (a decimal beyond {@link MAX_INTEGER_DIGITS} /
 * {@link MAX_FRACTION_DIGITS}). The payload checks (validate.ts) and the replay add theirs.
 */
export type DeadLetterReason = 'malformed_json' | 'unknown_stream' | 'invalid_field' | 'too_many_digits';

/**
 * Digit bounds of a price or quantity. Binance's largest values have 10 integer digits and 8
 * decimals; anything far beyond is not market data, and unbounded digit strings would make every
 * decimal operation downstream (BigInt scaling, NUMERIC) as slow as the input is long.
 */
export const MAX_INTEGER_DIGITS = 20;
/** See MAX_INTEGER_DIGITS. */
export const MAX_FRACTION_DIGITS = 18;

/** Binance says it is about to close the connection; open a new one now. */
export interface ServerShutdownNotice {
  readonly kind: 'serverShutdown';
  readonly eventTime: number | null;
}

/**
 * A REST depth answer (`{"lastUpdateId":…,"bids":…,"asks":…}`, USD-M adds `E`, `T`) as Binance
 * recorders write it between stream frames. `body` is mapped by the REST mapper
 * (`depthSnapshotFromRest`); it names no symbol, so the frame handler attributes it (see
 * DepthSnapshotEvent).
 */
export interface DepthSnapshotLine {
  readonly kind: 'depthSnapshot';
  readonly body: Json;
}

/** A frame that is not market data but tells the source something: a shutdown notice, a recorded REST snapshot. */
export type ControlMessage = ServerShutdownNotice | DepthSnapshotLine;

/** What parseFrame makes of one frame: a record, a control message, or a dead-letter reason. */
export type ParseResult =
  /** `payload`: the text of `data` exactly as received (dataText), null when it cannot be cut out safely. */
  | { readonly ok: true; readonly event: MarketEvent; readonly stream: string; readonly payload: string | null }
  | { readonly ok: 'control'; readonly control: ControlMessage; readonly stream: string | null }
  | { readonly ok: false; readonly reason: DeadLetterReason; readonly detail: string };

type Json = Record<string, unknown>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Thrown inside a mapper, turned into a dead-letter result (default reason `invalid_field`) at the
 * top (the REST mappers share it).
 */
export class FieldError extends Error {
  constructor(
    message: string,
    readonly reason: DeadLetterReason = 'invalid_field',
  ) {
    super(message);
  }
}

/** Exchange times arrive in `unit`; `toMs` floors microseconds to the millisecond. */
interface Times {
  readonly micros: boolean;
}

function toMs(value: number, times: Times): number {
  return times.micros ? Math.floor(value / 1000) : value;
}

/**
 * One raw combined-stream frame (`{"stream":"btcusdt@trade","data":{…}}`, Binance "WebSocket
 * Streams": Trade, Aggregate Trade, Individual Symbol Book Ticker, Diff. Depth, Kline/Candlestick
 * Streams; USD-M "Websocket Market Streams" alike) → a record, a control message or a dead letter:
 * - `{ ok: true, event, stream, payload }`: a MarketEvent (core/events.ts) with Binance's field values —
 *   prices and quantities the decimal strings as received (validated, never numbers), depth levels
 *   `[price, qty]` string pairs, ids as numbers; times (`E`, `T`, kline `t`/`T`) in epoch ms, floored
 *   from µs when `timeUnit` is MICROSECOND (spot `timeUnit=MICROSECOND` sends 16-digit times; the
 *   µs values are kept in `*Micros`); `ingestionTimestamp` (epoch µs at receipt) copied as given.
 *   Spot bookTicker has no `E`: its eventTime is the ingestion time in ms. `payload` is the text of
 *   `data` exactly as received (null when it cannot be cut out safely), for the bus's schema 2.
 * - `{ ok: 'control', control, stream }`: a `serverShutdown` event (bare, in `{"event":…}` or as
 *   `data`), or a REST depth answer a recorder wrote between frames (`lastUpdateId`).
 * - `{ ok: false, reason, detail }`: `malformed_json`, `unknown_stream` (no `stream` field, or a
 *   stream type it does not map), `invalid_field` (a field missing or of the wrong type, `e` naming
 *   another event), `too_many_digits` (beyond MAX_INTEGER_DIGITS / MAX_FRACTION_DIGITS).
 * Never throws on input (a bug in a mapper other than FieldError propagates).
 */
export function parseFrame(raw: string, market: Market, ingestionTimestamp: number, timeUnit: TimeUnit = 'MILLISECOND'): ParseResult {
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message };
  }
  if (!isObject(frame)) return { ok: false, reason: 'malformed_json', detail: 'frame is not a JSON object' };
  const times: Times = { micros: timeUnit === 'MICROSECOND' };

  const stream = frame.stream;
  const data = frame.data;
  try {
    if (typeof stream !== 'string') {
      // The WebSocket API wraps connection events as {"event":{...}}; accept that and a bare event.
      const bare = isObject(frame.event) ? frame.event : frame;
      if (bare.e === 'serverShutdown') return { ok: 'control', control: shutdownNotice(bare), stream: null };
      if (frame.lastUpdateId !== undefined) return { ok: 'control', control: { kind: 'depthSnapshot', body: frame }, stream: null };
      return { ok: false, reason: 'unknown_stream', detail: 'frame has no "stream" field (not a combined-stream message)' };
    }
    if (!isObject(data)) return { ok: false, reason: 'invalid_field', detail: `${stream}: "data" is not an object` };
    if (data.e === 'serverShutdown') return { ok: 'control', control: shutdownNotice(data), stream };

    const type = streamType(stream);
    if (type !== null) return { ok: true, event: MAPPERS[type](data, market, ingestionTimestamp, times), stream, payload: dataText(raw, stream, frame) };
  } catch (err) {
    if (err instanceof FieldError)
      return { ok: false, reason: err.reason, detail: `${typeof stream === 'string' ? stream : 'depth snapshot'}: ${err.message}` };
    throw err;
  }
  return { ok: false, reason: 'unknown_stream', detail: `unsupported stream "${stream}"` };
}

/** The record type a combined-stream name carries (`btcusdt@depth@100ms` → depth), null for one tickflow does not read. */
function streamType(stream: string): PayloadType | null {
  const at = stream.indexOf('@');
  const kind = at < 0 ? '' : stream.slice(at + 1);
  if (kind === 'trade' || kind === 'aggTrade' || kind === 'bookTicker') return kind;
  if (kind === 'depth' || /^depth@\d+ms$/.test(kind)) return 'depth';
  if (kind.startsWith('kline_')) return 'kline';
  return null;
}

/** The record types whose Binance payload is the whole record (a depth snapshot is a REST answer). */
export type PayloadType = 'trade' | 'aggTrade' | 'bookTicker' | 'depth' | 'kline';

const MAPPERS: Readonly<Record<PayloadType, (d: Json, market: Market, ingestionTimestamp: number, times: Times) => MarketEvent>> = {
  trade: mapTrade,
  aggTrade: mapAggTrade,
  bookTicker: mapBookTicker,
  depth: mapDepth,
  kline: mapKline,
};

/**
 * A stream payload (the `data` object of a combined-stream frame) → its record, checked exactly as
 * parseFrame checks it: the decoder of Kafka records that carry Binance's own bytes (schema 2,
 * docs/kafka.md). Throws FieldError when the payload does not fit `type`.
 */
export function recordFromPayload(type: PayloadType, data: unknown, market: Market, ingestionTimestamp: number, timeUnit: TimeUnit): MarketEvent {
  if (!isObject(data)) throw new FieldError('payload is not a JSON object');
  return MAPPERS[type](data, market, ingestionTimestamp, { micros: timeUnit === 'MICROSECOND' });
}

/** True for the record types recordFromPayload maps. */
export function isPayloadType(type: string): type is PayloadType {
  return Object.hasOwn(MAPPERS, type);
}

const STREAM_PREFIX = '{"stream":"';
const DATA_INFIX = '","data":';

/**
 * The text of `data` in `raw` exactly as received, when the frame is laid out the way Binance
 * sends it — `{"stream":"<stream>","data":{…}}`, no whitespace, nothing after `data` — else null
 * (a frame with other keys, escapes in the stream name or a repeated `data` key, which JSON.parse
 * resolves to the last one). `raw` already parsed as JSON into `frame`, so the layout follows from
 * three checks, with no pass over the payload (a character loop over it cost more than the
 * JSON.stringify it replaces): the literal prefix; `frame` has exactly the keys stream and data;
 * this is the last `"data":` in the frame (a later one would be a repeated key — inside a JSON
 * string the sequence needs an unescaped quote, which a string cannot hold; a nested key of that
 * name only costs the shortcut); and the frame ends `}}`, the payload object's end and the frame's.
 */
function dataText(raw: string, stream: string, frame: Json): string | null {
  const start = STREAM_PREFIX.length + stream.length + DATA_INFIX.length;
  const end = raw.length - 1;
  if (!raw.startsWith(STREAM_PREFIX) || !raw.startsWith(stream, STREAM_PREFIX.length) || !raw.startsWith(DATA_INFIX, start - DATA_INFIX.length)) return null;
  if (raw.charCodeAt(start) !== 123 /* { */ || raw.charCodeAt(end) !== 125 /* } */ || raw.charCodeAt(end - 1) !== 125) return null;
  if (raw.lastIndexOf('"data":') !== start - 7) return null;
  let keys = 0;
  for (const _ in frame) if (++keys > 2) return null;
  return raw.slice(start, end);
}

/**
 * USD-M trades carry `X`: MARKET, or INSURANCE_FUND / ADL / NA (Binance leaves those out of
 * aggTrades and klines). Every trade is kept with its type; isMarketTrade() decides what builds
 * candles. Spot trades have no `X`.
 */
function mapTrade(d: Json, market: Market, ingestionTimestamp: number, times: Times): TradeEvent {
  eventType(d, 'trade');
  const e = int(d, 'E');
  const t = int(d, 'T');
  const trade: Mutable<TradeEvent> = {
    type: 'trade',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: toMs(e, times),
    ingestionTimestamp,
    tradeId: int(d, 't'),
    price: decimal(d, 'p'),
    quantity: decimal(d, 'q'),
    tradeTime: toMs(t, times),
    buyerIsMaker: bool(d, 'm'),
  };
  if (times.micros) {
    trade.eventTimeMicros = e;
    trade.tradeTimeMicros = t;
  }
  if (d.X !== undefined) trade.tradeType = str(d, 'X');
  return trade;
}

function mapAggTrade(d: Json, market: Market, ingestionTimestamp: number, times: Times): AggTradeEvent {
  eventType(d, 'aggTrade');
  const e = int(d, 'E');
  const t = int(d, 'T');
  const agg: Mutable<AggTradeEvent> = {
    type: 'aggTrade',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: toMs(e, times),
    ingestionTimestamp,
    aggTradeId: int(d, 'a'),
    price: decimal(d, 'p'),
    quantity: decimal(d, 'q'),
    firstTradeId: int(d, 'f'),
    lastTradeId: int(d, 'l'),
    tradeTime: toMs(t, times),
    buyerIsMaker: bool(d, 'm'),
  };
  if (times.micros) {
    agg.eventTimeMicros = e;
    agg.tradeTimeMicros = t;
  }
  return agg;
}

function mapBookTicker(d: Json, market: Market, ingestionTimestamp: number, times: Times): BookTickerEvent {
  eventType(d, 'bookTicker');
  const event: Mutable<BookTickerEvent> = {
    type: 'bookTicker',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    // Spot bookTicker carries no event time; events.ts documents the ingestion-time fallback.
    eventTime: d.E === undefined ? Math.floor(ingestionTimestamp / 1000) : toMs(int(d, 'E'), times),
    ingestionTimestamp,
    updateId: int(d, 'u'),
    bidPrice: decimal(d, 'b'),
    bidQty: decimal(d, 'B'),
    askPrice: decimal(d, 'a'),
    askQty: decimal(d, 'A'),
  };
  // Set only when present (USD-M), so spot records carry no undefined keys; cheaper than a spread.
  if (d.T !== undefined) event.transactionTime = toMs(int(d, 'T'), times);
  if (times.micros && d.E !== undefined) event.eventTimeMicros = int(d, 'E');
  return event;
}

function mapDepth(d: Json, market: Market, ingestionTimestamp: number, times: Times): DepthEvent {
  eventType(d, 'depthUpdate');
  const e = int(d, 'E');
  const event: Mutable<DepthEvent> = {
    type: 'depth',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: toMs(e, times),
    ingestionTimestamp,
    firstUpdateId: int(d, 'U'),
    finalUpdateId: int(d, 'u'),
    bids: levels(d, 'b'),
    asks: levels(d, 'a'),
  };
  // USD-M adds `pu` (previous final id) and `T`; spot has neither.
  if (d.pu !== undefined) event.prevFinalUpdateId = int(d, 'pu');
  if (d.T !== undefined) event.transactionTime = toMs(int(d, 'T'), times);
  if (times.micros) event.eventTimeMicros = e;
  return event;
}

function mapKline(d: Json, market: Market, ingestionTimestamp: number, times: Times): KlineEvent {
  eventType(d, 'kline');
  const k = d.k;
  if (!isObject(k)) throw new FieldError('"k" is not an object');
  const e = int(d, 'E');
  const kline: Mutable<KlineEvent> = {
    type: 'kline',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: toMs(e, times),
    ingestionTimestamp,
    interval: str(k, 'i'),
    openTime: toMs(int(k, 't'), times),
    closeTime: toMs(int(k, 'T'), times),
    // -1 when the kline has no trades yet (Binance sends f = L = -1).
    firstTradeId: int(k, 'f'),
    lastTradeId: int(k, 'L'),
    open: decimal(k, 'o'),
    high: decimal(k, 'h'),
    low: decimal(k, 'l'),
    close: decimal(k, 'c'),
    volume: decimal(k, 'v'),
    quoteVolume: decimal(k, 'q'),
    tradeCount: int(k, 'n'),
    takerBuyVolume: decimal(k, 'V'),
    takerBuyQuoteVolume: decimal(k, 'Q'),
    closed: bool(k, 'x'),
  };
  if (times.micros) kline.eventTimeMicros = e;
  return kline;
}

function shutdownNotice(d: Json): ServerShutdownNotice {
  return { kind: 'serverShutdown', eventTime: Number.isSafeInteger(d.E) ? (d.E as number) : null };
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Spot bookTicker has no `e`; when present it must name the stream's event. */
function eventType(d: Json, expected: string): void {
  if (d.e !== undefined && d.e !== expected) throw new FieldError(`"e" is ${JSON.stringify(d.e)}, expected "${expected}"`);
}

/** `d[key]` as a non-empty string. @throws FieldError (`invalid_field`) when missing, empty or not a string. */
export function str(d: Json, key: string): string {
  const v = d[key];
  if (typeof v !== 'string' || v.length === 0) throw new FieldError(`"${key}" is missing or not a string`);
  return v;
}

/** `d[key]` as a safe integer (ids, epoch ms/µs times). @throws FieldError (`invalid_field`) otherwise. */
export function int(d: Json, key: string): number {
  const v = d[key];
  if (!Number.isSafeInteger(v)) throw new FieldError(`"${key}" is missing or not an integer`);
  return v as number;
}

/** `d[key]` as a boolean (`m`, `x`). @throws FieldError (`invalid_field`) otherwise. */
export function bool(d: Json, key: string): boolean {
  const v = d[key];
  if (typeof v !== 'boolean') throw new FieldError(`"${key}" is missing or not a boolean`);
  return v;
}

/**
 * `d[key]`, a price or quantity, as the decimal string received (`^\d+(\.\d+)?$`, no sign, no exponent).
 * @throws FieldError `invalid_field` when it is not such a string, `too_many_digits` beyond
 * MAX_INTEGER_DIGITS integer or MAX_FRACTION_DIGITS fraction digits.
 */
export function decimal(d: Json, key: string): string {
  const v = d[key];
  if (typeof v !== 'string') throw new FieldError(`"${key}" is missing or not a decimal string`);
  checkDecimal(v, `"${key}"`);
  return v;
}

/** Throws unless `s` is a decimal string within the digit bounds. */
function checkDecimal(s: string, what: string): void {
  const shape = decimalShape(s);
  if (shape === NOT_DECIMAL) throw new FieldError(`${what} is missing or not a decimal string`);
  if (shape !== DECIMAL)
    throw new FieldError(`${what} has ${shape} (max ${MAX_INTEGER_DIGITS} integer and ${MAX_FRACTION_DIGITS} fraction digits)`, 'too_many_digits');
}

const DECIMAL = '';
const NOT_DECIMAL = '-';

/**
 * `^\d+(\.\d+)?$` within the digit bounds, without a regex: a USD-M @0ms depth frame carries
 * hundreds of levels, and this check is most of the parser's time after JSON.parse. Returns
 * DECIMAL, NOT_DECIMAL or a description of the excess digits.
 */
function decimalShape(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === 0) return NOT_DECIMAL;
  if (i < n) {
    if (s.charCodeAt(i) !== 46 /* . */ || i === n - 1) return NOT_DECIMAL;
    for (let j = i + 1; j < n; j++) if (!isDigit(s.charCodeAt(j))) return NOT_DECIMAL;
  }
  if (i > MAX_INTEGER_DIGITS) return `${i} integer digits`;
  const fraction = i < n ? n - i - 1 : 0;
  return fraction > MAX_FRACTION_DIGITS ? `${fraction} fraction digits` : DECIMAL;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * `d[key]` as depth levels (`b`/`a` of a diff, `bids`/`asks` of a snapshot): an array of `[price, qty]`
 * decimal-string pairs, validated in place and returned as is (no copy). @throws FieldError
 * (`invalid_field`, or `too_many_digits`) naming the first bad level.
 */
export function levels(d: Json, key: string): readonly PriceLevel[] {
  const v = d[key];
  if (!Array.isArray(v)) throw new FieldError(`"${key}" is not an array of levels`);
  for (let i = 0; i < v.length; i++) {
    const level: unknown = v[i];
    if (!Array.isArray(level) || level.length !== 2 || typeof level[0] !== 'string' || typeof level[1] !== 'string') {
      throw new FieldError(`"${key}[${i}]" is not a [price, quantity] pair of decimal strings`);
    }
    checkDecimal(level[0], `"${key}[${i}]" price`);
    checkDecimal(level[1], `"${key}[${i}]" quantity`);
  }
  // Validated in place: the parsed arrays are the levels, no copy on the hot path.
  return v as PriceLevel[];
}
