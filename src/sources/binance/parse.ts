import type {
  AggTradeEvent,
  BookTickerEvent,
  DepthEvent,
  KlineEvent,
  Market,
  MarketEvent,
  PriceLevel,
  TradeEvent,
} from '../../core/events.js';

/**
 * Pure mappers from one raw combined-stream frame (`{"stream":"btcusdt@trade","data":{...}}`) to
 * a normalized record. No I/O, no clock: the caller stamps `ingestionTimestamp` (epoch µs at
 * receipt). One JSON.parse per frame; price/quantity strings and depth level arrays are passed
 * through as received (after validation), never converted to numbers.
 */

export type DeadLetterReason = 'malformed_json' | 'unknown_stream' | 'invalid_field';

/** Binance says it is about to close the connection; open a new one now. */
export interface ServerShutdownNotice {
  readonly kind: 'serverShutdown';
  readonly eventTime: number | null;
}

/**
 * A USD-M trade whose `X` is not MARKET (LIQUIDATION, INSURANCE_FUND, ADL). Binance leaves these out
 * of aggTrades and of the official klines, so they are not emitted as TradeEvents; the source still
 * feeds the id to the gap detector because they take ids in the same `t` sequence.
 */
export interface NonMarketTrade {
  readonly kind: 'nonMarketTrade';
  readonly symbol: string;
  readonly tradeId: number;
  readonly tradeType: string;
}

export type ControlMessage = ServerShutdownNotice | NonMarketTrade;

export type ParseResult =
  | { readonly ok: true; readonly event: MarketEvent; readonly stream: string }
  | { readonly ok: 'control'; readonly control: ControlMessage; readonly stream: string | null }
  | { readonly ok: false; readonly reason: DeadLetterReason; readonly detail: string };

type Json = Record<string, unknown>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Thrown inside a mapper, turned into an `invalid_field` result at the top (the REST mappers share it). */
export class FieldError extends Error {}


export function parseFrame(raw: string, market: Market, ingestionTimestamp: number): ParseResult {
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: (err as Error).message };
  }
  if (!isObject(frame)) return { ok: false, reason: 'malformed_json', detail: 'frame is not a JSON object' };

  const stream = frame.stream;
  const data = frame.data;
  if (typeof stream !== 'string') {
    // The WebSocket API wraps connection events as {"event":{...}}; accept that and a bare event.
    const bare = isObject(frame.event) ? frame.event : frame;
    if (bare.e === 'serverShutdown') return { ok: 'control', control: shutdownNotice(bare), stream: null };
    return { ok: false, reason: 'unknown_stream', detail: 'frame has no "stream" field (not a combined-stream message)' };
  }
  if (!isObject(data)) return { ok: false, reason: 'invalid_field', detail: `${stream}: "data" is not an object` };
  if (data.e === 'serverShutdown') return { ok: 'control', control: shutdownNotice(data), stream };

  const at = stream.indexOf('@');
  const kind = at < 0 ? '' : stream.slice(at + 1);
  try {
    if (kind === 'trade') return mapTrade(data, stream, market, ingestionTimestamp);
    if (kind === 'aggTrade') return event(mapAggTrade(data, market, ingestionTimestamp), stream);
    if (kind === 'bookTicker') return event(mapBookTicker(data, market, ingestionTimestamp), stream);
    if (kind === 'depth' || /^depth@\d+ms$/.test(kind)) return event(mapDepth(data, market, ingestionTimestamp), stream);
    if (kind.startsWith('kline_')) return event(mapKline(data, market, ingestionTimestamp), stream);
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: 'invalid_field', detail: `${stream}: ${err.message}` };
    throw err;
  }
  return { ok: false, reason: 'unknown_stream', detail: `unsupported stream "${stream}"` };
}

function event(e: MarketEvent, stream: string): ParseResult {
  return { ok: true, event: e, stream };
}

function mapTrade(d: Json, stream: string, market: Market, ingestionTimestamp: number): ParseResult {
  eventType(d, 'trade');
  const symbol = str(d, 's');
  const tradeId = int(d, 't');
  // USD-M only; spot trades have no X and are all market trades.
  const x = d.X;
  if (x !== undefined && x !== 'MARKET') {
    if (typeof x !== 'string') throw new FieldError('"X" is not a string');
    return { ok: 'control', control: { kind: 'nonMarketTrade', symbol, tradeId, tradeType: x }, stream };
  }
  const trade: TradeEvent = {
    type: 'trade',
    exchange: 'binance',
    market,
    symbol,
    eventTime: int(d, 'E'),
    ingestionTimestamp,
    tradeId,
    price: decimal(d, 'p'),
    quantity: decimal(d, 'q'),
    tradeTime: int(d, 'T'),
    buyerIsMaker: bool(d, 'm'),
  };
  return { ok: true, event: trade, stream };
}

function mapAggTrade(d: Json, market: Market, ingestionTimestamp: number): AggTradeEvent {
  eventType(d, 'aggTrade');
  return {
    type: 'aggTrade',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: int(d, 'E'),
    ingestionTimestamp,
    aggTradeId: int(d, 'a'),
    price: decimal(d, 'p'),
    quantity: decimal(d, 'q'),
    firstTradeId: int(d, 'f'),
    lastTradeId: int(d, 'l'),
    tradeTime: int(d, 'T'),
    buyerIsMaker: bool(d, 'm'),
  };
}

function mapBookTicker(d: Json, market: Market, ingestionTimestamp: number): BookTickerEvent {
  eventType(d, 'bookTicker');
  const event: Mutable<BookTickerEvent> = {
    type: 'bookTicker',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    // Spot bookTicker carries no event time; events.ts documents the ingestion-time fallback.
    eventTime: d.E === undefined ? Math.floor(ingestionTimestamp / 1000) : int(d, 'E'),
    ingestionTimestamp,
    updateId: int(d, 'u'),
    bidPrice: decimal(d, 'b'),
    bidQty: decimal(d, 'B'),
    askPrice: decimal(d, 'a'),
    askQty: decimal(d, 'A'),
  };
  // Set only when present (USD-M), so spot records carry no undefined keys; cheaper than a spread.
  if (d.T !== undefined) event.transactionTime = int(d, 'T');
  return event;
}

function mapDepth(d: Json, market: Market, ingestionTimestamp: number): DepthEvent {
  eventType(d, 'depthUpdate');
  const event: Mutable<DepthEvent> = {
    type: 'depth',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: int(d, 'E'),
    ingestionTimestamp,
    firstUpdateId: int(d, 'U'),
    finalUpdateId: int(d, 'u'),
    bids: levels(d, 'b'),
    asks: levels(d, 'a'),
  };
  // USD-M adds `pu` (previous final id) and `T`; spot has neither.
  if (d.pu !== undefined) event.prevFinalUpdateId = int(d, 'pu');
  if (d.T !== undefined) event.transactionTime = int(d, 'T');
  return event;
}

function mapKline(d: Json, market: Market, ingestionTimestamp: number): KlineEvent {
  eventType(d, 'kline');
  const k = d.k;
  if (!isObject(k)) throw new FieldError('"k" is not an object');
  return {
    type: 'kline',
    exchange: 'binance',
    market,
    symbol: str(d, 's'),
    eventTime: int(d, 'E'),
    ingestionTimestamp,
    interval: str(k, 'i'),
    openTime: int(k, 't'),
    closeTime: int(k, 'T'),
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
}

function shutdownNotice(d: Json): ServerShutdownNotice {
  return { kind: 'serverShutdown', eventTime: Number.isSafeInteger(d.E) ? (d.E as number) : null };
}

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Spot bookTicker has no `e`; when present it must name the stream's event. */
function eventType(d: Json, expected: string): void {
  if (d.e !== undefined && d.e !== expected) throw new FieldError(`"e" is ${JSON.stringify(d.e)}, expected "${expected}"`);
}

export function str(d: Json, key: string): string {
  const v = d[key];
  if (typeof v !== 'string' || v.length === 0) throw new FieldError(`"${key}" is missing or not a string`);
  return v;
}

export function int(d: Json, key: string): number {
  const v = d[key];
  if (!Number.isSafeInteger(v)) throw new FieldError(`"${key}" is missing or not an integer`);
  return v as number;
}

export function bool(d: Json, key: string): boolean {
  const v = d[key];
  if (typeof v !== 'boolean') throw new FieldError(`"${key}" is missing or not a boolean`);
  return v;
}

export function decimal(d: Json, key: string): string {
  const v = d[key];
  if (typeof v !== 'string' || !isDecimal(v)) throw new FieldError(`"${key}" is missing or not a decimal string`);
  return v;
}

/**
 * `^\d+(\.\d+)?$` without a regex: a USD-M @0ms depth frame carries hundreds of levels, and this
 * check is most of the parser's time after JSON.parse.
 */
function isDecimal(s: string): boolean {
  const n = s.length;
  let i = 0;
  while (i < n && isDigit(s.charCodeAt(i))) i++;
  if (i === 0) return false;
  if (i === n) return true;
  if (s.charCodeAt(i) !== 46 /* . */ || i === n - 1) return false;
  for (i++; i < n; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function levels(d: Json, key: string): readonly PriceLevel[] {
  const v = d[key];
  if (!Array.isArray(v)) throw new FieldError(`"${key}" is not an array of levels`);
  for (let i = 0; i < v.length; i++) {
    const level: unknown = v[i];
    if (
      !Array.isArray(level) ||
      level.length !== 2 ||
      typeof level[0] !== 'string' ||
      typeof level[1] !== 'string' ||
      !isDecimal(level[0]) ||
      !isDecimal(level[1])
    ) {
      throw new FieldError(`"${key}[${i}]" is not a [price, quantity] pair of decimal strings`);
    }
  }
  // Validated in place: the parsed arrays are the levels, no copy on the hot path.
  return v as PriceLevel[];
}
