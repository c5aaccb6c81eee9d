import type { AggTradeEvent, Decimal, Instrument, KlineEvent, Market, PriceLevel, TradeEvent } from '../../core/events.js';
import { bool, decimal, FieldError, int, isObject, levels } from './parse.js';

/**
 * Pure mappers from Binance REST responses to tickflow records. They validate like the stream
 * mappers (same field checks) and throw FieldError naming the field. REST trades carry no event
 * time, so `eventTime` is the trade time; `ingestionTimestamp` (epoch µs) is when tickflow fetched them.
 */

/** A GET depth response: spot `{lastUpdateId, bids, asks}`; USD-M adds `E` and `T` (epoch ms). */
export interface DepthSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
  readonly eventTime?: number;
  readonly transactionTime?: number;
}

/**
 * One kline in the REST/official-file row order (open_time, open, high, low, close, volume,
 * close_time, quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore). Times in
 * epoch ms; the nine value fields are exact decimal strings (count an integer).
 */
export interface KlineRow {
  readonly openTime: number;
  readonly open: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly close: Decimal;
  readonly volume: Decimal;
  readonly closeTime: number;
  readonly quoteVolume: Decimal;
  readonly tradeCount: number;
  readonly takerBuyVolume: Decimal;
  readonly takerBuyQuoteVolume: Decimal;
}

type Json = Record<string, unknown>;

function object(v: unknown, what: string): Json {
  if (!isObject(v)) throw new FieldError(`${what} is not an object`);
  return v;
}

/** GET /api/v3/historicalTrades, /fapi/v1/historicalTrades (and /trades) items. */
export function tradeFromRest(v: unknown, market: Market, symbol: string, ingestionTimestamp: number): TradeEvent {
  const d = object(v, 'trade');
  const time = int(d, 'time');
  return {
    type: 'trade',
    exchange: 'binance',
    market,
    symbol,
    eventTime: time,
    ingestionTimestamp,
    tradeId: int(d, 'id'),
    price: decimal(d, 'price'),
    quantity: decimal(d, 'qty'),
    tradeTime: time,
    buyerIsMaker: bool(d, 'isBuyerMaker'),
  };
}

/** GET /api/v3/aggTrades, /fapi/v1/aggTrades items (`a p q f l T m`, spot adds `M`). */
export function aggTradeFromRest(v: unknown, market: Market, symbol: string, ingestionTimestamp: number): AggTradeEvent {
  const d = object(v, 'aggTrade');
  const time = int(d, 'T');
  return {
    type: 'aggTrade',
    exchange: 'binance',
    market,
    symbol,
    eventTime: time,
    ingestionTimestamp,
    aggTradeId: int(d, 'a'),
    price: decimal(d, 'p'),
    quantity: decimal(d, 'q'),
    firstTradeId: int(d, 'f'),
    lastTradeId: int(d, 'l'),
    tradeTime: time,
    buyerIsMaker: bool(d, 'm'),
  };
}

/** GET depth response. */
export function depthSnapshotFromRest(v: unknown): DepthSnapshot {
  const d = object(v, 'depth snapshot');
  const snapshot: { -readonly [K in keyof DepthSnapshot]: DepthSnapshot[K] } = {
    lastUpdateId: int(d, 'lastUpdateId'),
    bids: levels(d, 'bids'),
    asks: levels(d, 'asks'),
  };
  if (d.E !== undefined) snapshot.eventTime = int(d, 'E');
  if (d.T !== undefined) snapshot.transactionTime = int(d, 'T');
  return snapshot;
}

/**
 * A kline row from GET klines (times and count are JSON numbers) or from a data.binance.vision
 * CSV (every field a string). Official spot files from 2025 on stamp times in microseconds; they
 * are brought back to ms here so both sources compare equal.
 */
export function klineFromRow(row: unknown): KlineRow {
  if (!Array.isArray(row) || row.length < 11) throw new FieldError('kline row does not have 11+ fields');
  const d: Json = {};
  KLINE_FIELDS.forEach((name, i) => {
    const v: unknown = row[i];
    d[name] = INT_FIELDS.has(name) && typeof v === 'string' && /^\d{1,19}$/.test(v) ? Number(v) : v;
  });
  const openTime = int(d, 'openTime');
  const closeTime = int(d, 'closeTime');
  const micro = openTime > 1e14;
  return {
    openTime: micro ? Math.floor(openTime / 1_000) : openTime,
    open: decimal(d, 'open'),
    high: decimal(d, 'high'),
    low: decimal(d, 'low'),
    close: decimal(d, 'close'),
    volume: decimal(d, 'volume'),
    closeTime: micro ? Math.floor(closeTime / 1_000) : closeTime,
    quoteVolume: decimal(d, 'quoteVolume'),
    tradeCount: int(d, 'tradeCount'),
    takerBuyVolume: decimal(d, 'takerBuyVolume'),
    takerBuyQuoteVolume: decimal(d, 'takerBuyQuoteVolume'),
  };
}

/**
 * A kline row as a closed kline record of `instrument`. Neither REST klines nor the official files
 * carry trade ids: -1, Binance's own "no id". `eventTime` is the close time.
 */
export function klineEventFromRow(k: KlineRow, instrument: Instrument, interval: string, ingestionTimestamp: number): KlineEvent {
  return { ...instrument, type: 'kline', eventTime: k.closeTime, ingestionTimestamp, interval, firstTradeId: -1, lastTradeId: -1, closed: true, ...k };
}

const KLINE_FIELDS = [
  'openTime',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'closeTime',
  'quoteVolume',
  'tradeCount',
  'takerBuyVolume',
  'takerBuyQuoteVolume',
] as const;
const INT_FIELDS = new Set<string>(['openTime', 'closeTime', 'tradeCount']);

/**
 * One symbol of GET /api/v3/exchangeInfo or /fapi/v1/exchangeInfo: its trading status and the
 * PRICE_FILTER `tickSize` and LOT_SIZE `stepSize` (decimal strings, e.g. "0.01000000").
 */
export interface SymbolRules {
  readonly symbol: string;
  readonly status: string;
  readonly tickSize: Decimal;
  readonly stepSize: Decimal;
}

/** The `symbols` of an exchangeInfo answer, by symbol. */
export function symbolRulesFromExchangeInfo(v: unknown): Map<string, SymbolRules> {
  const body = object(v, 'exchangeInfo');
  if (!Array.isArray(body.symbols)) throw new FieldError('exchangeInfo has no "symbols" array');
  const rules = new Map<string, SymbolRules>();
  for (const item of body.symbols) {
    const s = object(item, 'exchangeInfo symbol');
    if (typeof s.symbol !== 'string') throw new FieldError('exchangeInfo symbol without "symbol"');
    const filters = Array.isArray(s.filters) ? s.filters.filter(isObject) : [];
    const filter = (type: string) => {
      const f = filters.find((x) => x.filterType === type);
      if (!f) throw new FieldError(`${s.symbol as string} has no ${type} filter`);
      return f;
    };
    rules.set(s.symbol, {
      symbol: s.symbol,
      status: typeof s.status === 'string' ? s.status : 'UNKNOWN',
      tickSize: decimal(filter('PRICE_FILTER'), 'tickSize'),
      stepSize: decimal(filter('LOT_SIZE'), 'stepSize'),
    });
  }
  return rules;
}
