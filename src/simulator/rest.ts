import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatUnits, parseUnits } from './decimal.js';
import { buildKlines, isKlineInterval, klineOpenTime } from './klines.js';
import type { SimAggTrade, SimTrade } from './market.js';
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

function depthWeight(limit: number): number {
  if (limit <= 100) return 5;
  if (limit <= 500) return 25;
  if (limit <= 1_000) return 50;
  return 250;
}

/** Request weights of GET /api/v3/* (rest-api.md, "Market Data endpoints"). */
function weightOf(path: string, q: URLSearchParams): number | undefined {
  switch (path) {
    case '/api/v3/ping':
    case '/api/v3/time':
      return 1;
    case '/api/v3/exchangeInfo':
      return 20;
    case '/api/v3/depth':
      return depthWeight(Number(q.get('limit') ?? 100) || 100);
    case '/api/v3/trades':
    case '/api/v3/historicalTrades':
      return 25;
    case '/api/v3/aggTrades':
      return 4;
    case '/api/v3/klines':
    case '/api/v3/avgPrice':
      return 2;
    case '/api/v3/ticker/bookTicker':
    case '/api/v3/ticker/price':
      return q.has('symbol') ? 2 : 4;
    default:
      return undefined;
  }
}

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

function tradeJson(t: SimTrade) {
  const quote = parseUnits(t.price, 8) * parseUnits(t.qty, 8);
  return { id: t.id, price: t.price, qty: t.qty, quoteQty: formatUnits(quote, 16, 8), time: t.time, isBuyerMaker: t.buyerIsMaker, isBestMatch: true };
}

function aggTradeJson(a: SimAggTrade) {
  return { a: a.id, p: a.price, q: a.qty, f: a.firstId, l: a.lastId, T: a.time, m: a.buyerIsMaker, M: true };
}

function fmt(units: bigint, scale: number): string {
  return formatUnits(units, scale, 8);
}

function exchangeInfo(market: MarketView, weightLimit: number, only: string[] | null) {
  const instruments = market.instruments().filter((i) => only === null || only.includes(i.symbol));
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
        { filterType: 'PRICE_FILTER', minPrice: fmt(BigInt(i.tickSize), i.tickScale), maxPrice: '1000000.00000000', tickSize: fmt(BigInt(i.tickSize), i.tickScale) },
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
  throw new ApiError(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.");
}

function route(market: MarketView, weightLimit: number, path: string, q: URLSearchParams): unknown {
  if (path === '/api/v3/ping') return {};
  if (path === '/api/v3/time') return { serverTime: Date.now() };
  const symbolsParam = q.get('symbols');
  if (path === '/api/v3/exchangeInfo') {
    const one = q.get('symbol');
    return exchangeInfo(market, weightLimit, one !== null ? [one.toUpperCase()] : symbolsParam !== null ? symbolList(symbolsParam) : null);
  }
  const symbol = q.get('symbol')?.toUpperCase();
  const tickerPath = path === '/api/v3/ticker/bookTicker' || path === '/api/v3/ticker/price';
  if (symbol === undefined || symbol === '') {
    if (tickerPath) return market.instruments().map((i) => route(market, weightLimit, path, new URLSearchParams({ symbol: i.symbol })));
    throw new ApiError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  }
  const history = market.history(symbol);
  if (history === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
  switch (path) {
    case '/api/v3/depth': {
      const book = market.depth(symbol, limitParam(q, 100, 5_000));
      if (book === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
      return book;
    }
    case '/api/v3/trades':
      return history.trades.latest(limitParam(q, 500, 1_000)).map(tradeJson);
    case '/api/v3/historicalTrades': {
      const limit = limitParam(q, 500, 1_000);
      const fromId = intParam(q, 'fromId');
      return (fromId === undefined ? history.trades.latest(limit) : history.trades.fromId(fromId, limit)).map(tradeJson);
    }
    case '/api/v3/aggTrades': {
      const limit = limitParam(q, 500, 1_000);
      const fromId = intParam(q, 'fromId');
      let start = intParam(q, 'startTime');
      let end = intParam(q, 'endTime');
      if (fromId !== undefined) return history.aggTrades.fromId(fromId, limit).filter((a) => end === undefined || a.time <= end).map(aggTradeJson);
      if (start === undefined && end === undefined) return history.aggTrades.latest(limit).map(aggTradeJson);
      start ??= (end ?? 0) - HOUR;
      end ??= start + HOUR;
      if (end - start > HOUR) throw new ApiError(400, -1127, 'More than 1 hours between startTime and endTime.');
      return history.aggTrades.between(start, end, limit).map(aggTradeJson);
    }
    case '/api/v3/klines': {
      const interval = q.get('interval') ?? '';
      if (!isKlineInterval(interval)) throw new ApiError(400, -1120, 'Invalid interval.');
      const limit = limitParam(q, 500, 1_000);
      const start = intParam(q, 'startTime') ?? 0;
      const end = intParam(q, 'endTime') ?? Number.MAX_SAFE_INTEGER;
      // Only the trades of the candles asked for (a backfill pages through long histories).
      const trades = start === 0 ? history.trades.all() : history.trades.between(klineOpenTime(interval, start), end, Number.MAX_SAFE_INTEGER);
      const candles = buildKlines(interval, trades).filter((k) => k.openTime >= start && k.openTime <= end);
      const chosen = q.has('startTime') ? candles.slice(0, limit) : candles.slice(-limit);
      return chosen.map((k) => k.restRow(history.decimals));
    }
    case '/api/v3/avgPrice': {
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
    case '/api/v3/ticker/bookTicker': {
      const top = market.top(symbol);
      if (top === undefined) throw new ApiError(400, -1121, 'Invalid symbol.');
      return { symbol, bidPrice: top.bidPrice, bidQty: top.bidQty, askPrice: top.askPrice, askQty: top.askQty };
    }
    case '/api/v3/ticker/price': {
      const last = history.trades.latest(1)[0];
      return { symbol, price: last?.price ?? market.top(symbol)?.bidPrice ?? '0.00000000' };
    }
    default:
      throw new ApiError(404, -1, 'Not found.');
  }
}

/**
 * Binance spot REST market-data endpoints over the simulated market, with request weights, the
 * X-MBX-USED-WEIGHT-1M header and 429/418 when a client exceeds the limit. Returns false when the
 * path is not a REST path.
 */
export function createRestHandler(market: MarketView, weightLimitPerMinute: number) {
  const limiter = new WeightLimiter(weightLimitPerMinute);
  return (req: IncomingMessage, res: ServerResponse, url: URL): boolean => {
    if (!url.pathname.startsWith('/api/v3/')) return false;
    const weight = weightOf(url.pathname, url.searchParams);
    const send = (status: number, body: unknown, headers: Record<string, string | number> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
      res.end(JSON.stringify(body));
    };
    if (weight === undefined || req.method !== 'GET') {
      send(404, { code: -1, msg: 'Not found.' });
      return true;
    }
    const verdict = limiter.charge(req.socket.remoteAddress ?? 'unknown', weight);
    const used = { 'X-MBX-USED-WEIGHT-1M': verdict.used };
    if (verdict.status === 429) {
      send(
        429,
        { code: -1003, msg: `Too much request weight used; current limit is ${limiter.limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.` },
        { ...used, 'Retry-After': verdict.retryAfterSec },
      );
      return true;
    }
    if (verdict.status === 418) {
      send(
        418,
        { code: -1003, msg: `Way too much request weight used; IP banned until ${verdict.bannedUntil}. Please use WebSocket Streams for live updates to avoid bans.` },
        { ...used, 'Retry-After': verdict.retryAfterSec },
      );
      return true;
    }
    try {
      send(200, route(market, weightLimitPerMinute, url.pathname, url.searchParams), used);
    } catch (err) {
      if (err instanceof ApiError) send(err.status, { code: err.code, msg: err.message }, used);
      else send(500, { code: -1000, msg: 'An unknown error occurred while processing the request.' }, used);
    }
    return true;
  };
}
