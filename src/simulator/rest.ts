import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatUnits, parseUnits } from '../core/decimal.js';
import { isKlineInterval, klineOpenTime } from '../core/intervals.js';
import { buildKlines } from './klines.js';
import type { Market } from '../core/events.js';
import type { BookSnapshot, SimAggTrade, SimTrade } from './market.js';
import type { MarketView } from './types.js';
import { WeightLimiter } from './weights.js';

/** A Binance error response: HTTP status plus `{code, msg}` (errors.md). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
  ) {
    super(msg);
  }
}

const HOUR = 3_600_000;

function spotDepthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1_000) return 50;
  return 250;
}

/** USD-M GET /fapi/v1/depth weight by limit (5, 10, 20, 50 → 2; 100 → 5; 500 → 10; 1000 → 20). */
function usdmDepthWeight(limit: number): number {
  if (limit <= 50) return 2;
  if (limit <= 100) return 5;
  if (limit <= 500) return 10;
  return 20;
}

/** USD-M GET /fapi/v1/klines weight by limit: [1,100) 1, [100,500) 2, [500,1000] 5, > 1000 10. */
function usdmKlinesWeight(limit: number): number {
  if (limit < 100) return 1;
  if (limit < 500) return 2;
  if (limit <= 1_000) return 5;
  return 10;
}

/**
 * What differs between the spot (`/api/v3`, rest-api.md "Market Data endpoints") and the USD-M
 * (`/fapi/v1`, "USDⓈ-M Futures › Market Data") REST APIs for the endpoints the simulator serves:
 * the prefix, the request weights, the page limits and the response shapes. Paths below are
 * relative to the prefix (`/depth`).
 */
interface RestDialect {
  readonly prefix: '/api/v3' | '/fapi/v1';
  weightOf(path: string, q: URLSearchParams): number | undefined;
  readonly depthDefault: number;
  readonly depthMax: number;
  /** The only limits GET depth takes (USD-M; another is -4021), or null: any, capped at depthMax (spot). */
  readonly depthLimits: readonly number[] | null;
  readonly historicalTradesMax: number;
  readonly klinesMax: number;
  tradeJson(t: SimTrade): Record<string, unknown>;
  aggTradeJson(a: SimAggTrade): Record<string, unknown>;
  depthJson(book: BookSnapshot): Record<string, unknown>;
}

function quoteQty(t: SimTrade): string {
  return formatUnits(parseUnits(t.price, 8) * parseUnits(t.qty, 8), 16, 8);
}

type Weight = number | ((q: URLSearchParams) => number);

function weightOf(table: Readonly<Record<string, Weight>>, path: string, q: URLSearchParams): number | undefined {
  const w = table[path];
  return typeof w === 'function' ? w(q) : w;
}

const limitOf = (q: URLSearchParams, fallback: number) => Number(q.get('limit') ?? fallback) || fallback;

const SPOT_WEIGHTS: Readonly<Record<string, Weight>> = {
  '/ping': 1,
  '/time': 1,
  '/exchangeInfo': 20,
  '/depth': (q) => spotDepthWeight(limitOf(q, 100)),
  '/trades': 25,
  '/historicalTrades': 25,
  '/aggTrades': 4,
  '/klines': 2,
  '/avgPrice': 2,
  '/ticker/bookTicker': (q) => (q.has('symbol') ? 2 : 4),
  '/ticker/price': (q) => (q.has('symbol') ? 2 : 4),
};

const USDM_WEIGHTS: Readonly<Record<string, Weight>> = {
  '/ping': 1,
  '/time': 1,
  '/exchangeInfo': 1,
  '/depth': (q) => usdmDepthWeight(limitOf(q, 500)),
  '/trades': 5,
  '/historicalTrades': 20,
  '/aggTrades': 20,
  '/klines': (q) => usdmKlinesWeight(limitOf(q, 500)),
  '/ticker/bookTicker': (q) => (q.has('symbol') ? 2 : 5),
  '/ticker/price': (q) => (q.has('symbol') ? 1 : 2),
};

const SPOT: RestDialect = {
  prefix: '/api/v3',
  weightOf: (path, q) => weightOf(SPOT_WEIGHTS, path, q),
  depthDefault: 100,
  depthMax: 5_000,
  depthLimits: null,
  historicalTradesMax: 1_000,
  klinesMax: 1_000,
  tradeJson: (t) => ({ id: t.id, price: t.price, qty: t.qty, quoteQty: quoteQty(t), time: t.time, isBuyerMaker: t.buyerIsMaker, isBestMatch: true }),
  aggTradeJson: (a) => ({ a: a.id, p: a.price, q: a.qty, f: a.firstId, l: a.lastId, T: a.time, m: a.buyerIsMaker, M: true }),
  depthJson: (book) => ({ lastUpdateId: book.lastUpdateId, bids: book.bids, asks: book.asks }),
};

const USDM: RestDialect = {
  prefix: '/fapi/v1',
  weightOf: (path, q) => weightOf(USDM_WEIGHTS, path, q),
  depthDefault: 500,
  depthMax: 1_000,
  depthLimits: [5, 10, 20, 50, 100, 500, 1_000],
  historicalTradesMax: 500,
  klinesMax: 1_500,
  // USD-M trades have no isBestMatch; aggTrades no M; the depth snapshot carries E and T.
  tradeJson: (t) => ({ id: t.id, price: t.price, qty: t.qty, quoteQty: quoteQty(t), time: t.time, isBuyerMaker: t.buyerIsMaker }),
  aggTradeJson: (a) => ({ a: a.id, p: a.price, q: a.qty, f: a.firstId, l: a.lastId, T: a.time, m: a.buyerIsMaker }),
  depthJson: (book) => {
    const now = Date.now();
    return { lastUpdateId: book.lastUpdateId, E: now, T: now, bids: book.bids, asks: book.asks };
  },
};

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?[0-9]{1,20}$/.test(v)) throw new ApiError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '^[0-9]{1,20}$'.`);
  return Number(v);
}

function limitParam(q: URLSearchParams, fallback: number, max: number): number {
  const limit = intParam(q, 'limit') ?? fallback;
  return Math.max(1, Math.min(max, limit));
}

function fmt(units: bigint, scale: number): string {
  return formatUnits(units, scale, 8);
}

function exchangeInfo(market: MarketView, weightLimit: number, only: string[] | null) {
  const instruments = market.instruments().filter((i) => i.listed && (only === null || only.includes(i.symbol)));
  return {
    timezone: 'UTC',
    serverTime: Date.now(),
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: weightLimit },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 50 },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 160_000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61_000 },
    ],
    exchangeFilters: [],
    symbols: instruments.map((i) => ({
      symbol: i.symbol,
      status: 'TRADING',
      baseAsset: i.baseAsset,
      baseAssetPrecision: 8,
      quoteAsset: i.quoteAsset,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
      icebergAllowed: true,
      ocoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: true,
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: fmt(BigInt(i.tickSize), i.tickScale),
          maxPrice: '1000000.00000000',
          tickSize: fmt(BigInt(i.tickSize), i.tickScale),
        },
        { filterType: 'LOT_SIZE', minQty: fmt(1n, i.stepScale), maxQty: '9000.00000000', stepSize: fmt(1n, i.stepScale) },
        { filterType: 'MIN_NOTIONAL', minNotional: '10.00000000', applyToMarket: true, avgPriceMins: 5 },
      ],
      permissions: ['SPOT', 'MARGIN'],
    })),
  };
}

/** `symbols=["BTCUSDT","ETHUSDT"]` */
function symbolList(text: string): string[] {
  try {
    const list = JSON.parse(text) as unknown;
    if (Array.isArray(list) && list.every((s) => typeof s === 'string')) return list.map((s: string) => s.toUpperCase());
  } catch {
    // fall through to the error below
  }
  throw new ApiError(
    400,
    -1100,
    'Illegal characters found in parameter \'symbols\'; legal range is \'^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$\'.',
  );
}

function route(d: RestDialect, market: MarketView, weightLimit: number, path: string, q: URLSearchParams): unknown {
  if (path === '/ping') return {};
  if (path === '/time') return { serverTime: Date.now() };
  const symbolsParam = q.get('symbols');
  if (path === '/exchangeInfo') {
    const one = q.get('symbol');
    return exchangeInfo(market, weightLimit, one !== null ? [one.toUpperCase()] : symbolsParam !== null ? symbolList(symbolsParam) : null);
  }
  const symbol = q.get('symbol')?.toUpperCase();
  const tickerPath = path === '/ticker/bookTicker' || path === '/ticker/price';
  if (symbol === undefined || symbol === '') {
    if (tickerPath) return market.instruments().map((i) => route(d, market, weightLimit, path, new URLSearchParams({ symbol: i.symbol })));
    throw new ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  }
  const history = market.history(symbol);
  if (history === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
  switch (path) {
    case '/depth': {
      const asked = intParam(q, 'limit');
      if (asked !== undefined && d.depthLimits !== null && !d.depthLimits.includes(asked)) throw new ApiError(400, -4021, 'Invalid depth limit.');
      const book = market.depth(symbol, limitParam(q, d.depthDefault, d.depthMax));
      if (book === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
      return d.depthJson(book);
    }
    case '/trades':
      return history.trades.latest(limitParam(q, 500, 1_000)).map(d.tradeJson);
    case '/historicalTrades': {
      const limit = limitParam(q, 500, d.historicalTradesMax);
      const fromId = intParam(q, 'fromId');
      return (fromId === undefined ? history.trades.latest(limit) : history.trades.fromId(fromId, limit)).map(d.tradeJson);
    }
    case '/aggTrades': {
      const limit = limitParam(q, 500, 1_000);
      const fromId = intParam(q, 'fromId');
      let start = intParam(q, 'startTime');
      let end = intParam(q, 'endTime');
      if (fromId !== undefined)
        return history.aggTrades
          .fromId(fromId, limit)
          .filter((a) => end === undefined || a.time <= end)
          .map(d.aggTradeJson);
      if (start === undefined && end === undefined) return history.aggTrades.latest(limit).map(d.aggTradeJson);
      start ??= (end ?? 0) - HOUR;
      end ??= start + HOUR;
      if (end - start > HOUR) throw new ApiError(400, -1127, 'More than 1 hours between startTime and endTime.');
      return history.aggTrades.between(start, end, limit).map(d.aggTradeJson);
    }
    case '/klines': {
      const interval = q.get('interval') ?? '';
      if (!isKlineInterval(interval)) throw new ApiError(400, -1120, 'Invalid interval.');
      const limit = limitParam(q, 500, d.klinesMax);
      const start = intParam(q, 'startTime') ?? 0;
      const end = intParam(q, 'endTime') ?? Number.MAX_SAFE_INTEGER;
      // Only the trades of the candles asked for (a backfill pages through long histories).
      const trades = start === 0 ? history.trades.all() : history.trades.between(klineOpenTime(interval, start), end, Number.MAX_SAFE_INTEGER);
      const empty = { from: start, to: end, max: limit, keep: q.has('startTime') ? 'first' : 'last' } as const;
      const candles = buildKlines(interval, trades, empty).filter((k) => k.openTime >= start && k.openTime <= end);
      const chosen = q.has('startTime') ? candles.slice(0, limit) : candles.slice(-limit);
      return chosen.map((k) => k.restRow(history.decimals));
    }
    case '/avgPrice': {
      const recent = history.trades.between(Date.now() - 5 * 60_000, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
      let qty = 0n;
      let quote = 0n;
      for (const t of recent) {
        const units = parseUnits(t.qty, 8);
        qty += units;
        quote += parseUnits(t.price, 8) * units;
      }
      return { mins: 5, price: qty === 0n ? '0.00000000' : formatUnits(quote / qty, 8, 8) };
    }
    case '/ticker/bookTicker': {
      const top = market.top(symbol);
      if (top === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
      return { symbol, bidPrice: top.bidPrice, bidQty: top.bidQty, askPrice: top.askPrice, askQty: top.askQty };
    }
    case '/ticker/price': {
      const last = history.trades.latest(1)[0];
      return { symbol, price: last?.price ?? market.top(symbol)?.bidPrice ?? '0.00000000' };
    }
    default:
      throw new ApiError(404, -1, 'Not found.');
  }
}

/**
 * Binance REST market-data endpoints over the simulated market — spot `/api/v3/*` or USD-M
 * `/fapi/v1/*` after the market simulated (`avgPrice` and `exchangeInfo` rate limits as on spot) —
 * with request weights, the X-MBX-USED-WEIGHT-1M header and 429/418 when a client exceeds the
 * limit, counted in the calendar minutes of `clock` (epoch ms). Returns false when the path is not
 * a REST path of this market.
 */
export function createRestHandler(market: MarketView, weightLimitPerMinute: number, kind: Market = 'spot', clock: () => number = Date.now) {
  const limiter = new WeightLimiter(weightLimitPerMinute);
  const dialect = kind === 'usdm' ? USDM : SPOT;
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (!url.pathname.startsWith(`${dialect.prefix}/`)) return false;
    const path = url.pathname.slice(dialect.prefix.length);
    const weight = dialect.weightOf(path, url.searchParams);
    const send = (status: number, body: unknown, headers: Record<string, string | number> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };
    if (weight === undefined || req.method !== 'GET') {
      send(404, { code: -1, msg: 'Not found.' });
      return true;
    }
    const verdict = limiter.charge(req.socket.remoteAddress ?? 'unknown', weight, clock());
    const used = { 'X-MBX-USED-WEIGHT-1M': verdict.used };
    if (verdict.status === 429) {
      send(
        429,
        {
          code: -1003,
          msg: `Too much request weight used; current limit is ${limiter.limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
        },
        { ...used, 'Retry-After': verdict.retryAfterSec },
      );
      return true;
    }
    if (verdict.status === 418) {
      send(
        418,
        {
          code: -1003,
          msg: `Way too much request weight used; IP banned until ${verdict.bannedUntil}. Please use WebSocket Streams for live updates to avoid bans.`,
        },
        { ...used, 'Retry-After': verdict.retryAfterSec },
      );
      return true;
    }
    try {
      send(200, route(dialect, market, weightLimitPerMinute, path, url.searchParams), used);
    } catch (err) {
      if (err instanceof ApiError) send(err.status, { code: err.code, msg: err.message }, used);
      else send(500, { code: -1000, msg: 'An unknown error occurred while processing the request.' }, used);
    }
    return true;
  };
}
