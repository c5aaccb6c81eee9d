import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { Database } from '../store/database.js';
import type { HealthRegistry } from '../ops/health.js';
import { type Instrument, instrumentKey } from '../core/events.js';
import { formatDecimal } from '../core/decimal.js';
import { WhaleDetector } from '../processors/whales.js';
import { configuredInstruments, defaultMarket } from '../sources/markets.js';
import { alertRoutes, type AlertsView } from './alert-routes.js';
import { type ApiPath, type ApiResponses, responseSchemas } from './contract.js';
import { bookResponse, type LiveBookLookup } from './book.js';
import { ApiError } from './errors.js';
import type { LiveFeed, LiveSubscription } from './live.js';
import type { RouteDoc } from './openapi.js';
import { pipelineReport, type PipelineStatus } from './pipeline.js';
import * as q from './queries.js';
import type { Schemas } from './schemas.js';
import { serveStream } from './stream.js';

/**
 * What the /api routes are built from (app.ts): config, database, live feed, alert view, pipeline status, health, query schemas.
 */
export interface RouteContext {
  readonly config: Config;
  readonly db: Database;
  readonly live: LiveFeed;
  readonly alerts: AlertsView | undefined;
  readonly pipeline: () => PipelineStatus | Promise<PipelineStatus>;
  readonly health: HealthRegistry;
  readonly schemas: Schemas;
  /** Sent to every stream client; a new value tells it the server restarted. */
  readonly instance: { readonly id: string; readonly startedAt: number };
  /** Open streams, ended when the app closes. */
  readonly streams: Set<LiveSubscription>;
  /** The live order books, when this process keeps them. */
  readonly book?: LiveBookLookup;
}

/** One /api route as app.ts registers it: the query is parsed with `query` before `handler` runs. */
export interface ApiRoute<S extends z.ZodType = z.ZodType> extends RouteDoc {
  readonly query: S;
  readonly handler: (query: z.output<S>, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

/**
 * A JSON route of the contract (contract.ts): its handler must return `ApiResponses[path]`, checked
 * by the compiler, and the OpenAPI document describes its 200 body with the same schema.
 */
export function route<S extends z.ZodType, P extends ApiPath>(
  r: Omit<ApiRoute<S>, 'path' | 'response' | 'handler'> & {
    readonly path: P;
    readonly handler: (query: z.output<S>, req: FastifyRequest, reply: FastifyReply) => Promise<ApiResponses[P]>;
  },
): ApiRoute {
  return { ...r, response: responseSchemas[r.path] } as unknown as ApiRoute;
}

/** A route whose body is not JSON (the event stream); `produces` names its content type. */
function streamRoute<S extends z.ZodType>(r: ApiRoute<S> & { readonly produces: string }): ApiRoute {
  return r as unknown as ApiRoute;
}

const STREAM_HEARTBEAT_MS = 15_000;

/** Every /api route: path, summary, query schema and handler (the OpenAPI document is made from this list). */
export function apiRoutes(ctx: RouteContext): ApiRoute[] {
  const { config, db, live, schemas } = ctx;
  const instruments = configuredInstruments(config.source);
  const configured = new Set(instruments.map(instrumentKey));
  const fallback = defaultMarket(config.source);

  /** The query's exchange and market, defaulting to the first configured market. */
  const marketOf = (query: { exchange?: string | undefined; market?: string | undefined }) => ({
    exchange: query.exchange ?? fallback.exchange,
    market: query.market ?? fallback.market,
  });
  /** 404 unless the instrument is configured or has stored trades. */
  const known = async (query: { exchange?: string | undefined; market?: string | undefined; symbol: string }): Promise<Instrument> => {
    const instrument = { ...marketOf(query), symbol: query.symbol };
    if (configured.has(instrumentKey(instrument)) || (await q.hasData(db, instrument))) return instrument;
    throw new ApiError(
      'TF_API_UNKNOWN_SYMBOL',
      `unknown instrument ${instrument.symbol} on ${instrument.exchange} ${instrument.market}: configured are ${[...configured].join(', ')}`,
    );
  };
  /** The list filter of a route whose symbol is optional. */
  const knownFilter = async (query: { exchange?: string | undefined; market?: string | undefined; symbol?: string | undefined }): Promise<q.MarketFilter> =>
    query.symbol === undefined ? marketOf(query) : known({ ...query, symbol: query.symbol });
  const whales = new WhaleDetector(config.processor);
  const whaleNotional = (symbol: string) => formatDecimal(whales.threshold(symbol));

  return [
    route({
      path: '/api/symbols',
      summary:
        'Configured instruments and instruments with stored data (exchange, market, symbol), with tickSize and stepSize when the source read exchangeInfo, the default market and the candle intervals',
      query: schemas.none,
      handler: async () => {
        const [stored, status] = await Promise.all([q.instrumentsWithData(db), ctx.pipeline()]);
        const withData = new Set(stored.map(instrumentKey));
        const rules = new Map((status.instruments ?? []).map((r) => [instrumentKey(r), { tickSize: r.tickSize, stepSize: r.stepSize }]));
        const all = new Map([...instruments, ...stored].map((i) => [instrumentKey(i), i]));
        return {
          symbols: [...all.keys()].sort().map((key) => {
            const i = all.get(key) as Instrument;
            return { exchange: i.exchange, market: i.market, symbol: i.symbol, configured: configured.has(key), hasData: withData.has(key), ...rules.get(key) };
          }),
          defaultMarket: fallback,
          intervals: config.processor.candleIntervals,
        };
      },
    }),
    route({
      path: '/api/candles',
      summary:
        'Candles with every Binance kline field (time = open time, closeTime = open + interval − 1 ms, OHLC, volume, quoteVolume, tradeCount, takerBuyVolume, takerBuyQuoteVolume), VWAP and moving averages, oldest first (the newest `limit` of the range)',
      query: schemas.candles,
      handler: async ({ interval, from, to, limit, ...query }) => {
        const instrument = await known(query);
        return { ...instrument, interval, candles: await q.candles(db, instrument, interval, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/trades',
      summary: 'The recent trade tape, newest first, with a whale flag',
      query: schemas.trades,
      handler: async ({ limit, ...query }) => {
        const instrument = await known(query);
        const threshold = whaleNotional(instrument.symbol);
        return { ...instrument, whaleNotional: threshold, trades: await q.recentTrades(db, instrument, limit, threshold) };
      },
    }),
    route({
      path: '/api/book',
      summary:
        'The local order book: best `depth` bids and asks, best first, from the live book (`source: live`) or the latest stored snapshot (`source: stored`)',
      query: schemas.book,
      handler: async ({ depth, ...query }) => bookResponse(db, ctx.book, await known(query), depth),
    }),
    route({
      path: '/api/metrics/trades',
      summary: 'Windowed trade metrics (volume, buy/sell pressure, volatility), oldest first',
      query: schemas.symbolSeries,
      handler: async ({ from, to, limit, ...query }) => {
        const instrument = await known(query);
        return { ...instrument, metrics: await q.tradeMetrics(db, instrument, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/metrics/spreads',
      summary: 'Windowed bid/ask spread metrics in basis points, oldest first',
      query: schemas.symbolSeries,
      handler: async ({ from, to, limit, ...query }) => {
        const instrument = await known(query);
        return { ...instrument, metrics: await q.spreadMetrics(db, instrument, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/whales',
      summary: 'Trades at or above the whale notional, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ from, to, limit, ...query }) => {
        const filter = await knownFilter(query);
        return { exchange: filter.exchange, market: filter.market, whales: await q.whales(db, filter, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/anomalies',
      summary: 'Volatility, volume spike, price move and spread warnings, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ from, to, limit, ...query }) => {
        const filter = await knownFilter(query);
        return { exchange: filter.exchange, market: filter.market, anomalies: await q.anomalies(db, filter, { from, to, limit }, config.processor) };
      },
    }),
    route({
      path: '/api/gaps',
      summary: 'Holes found in trade id sequences, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ from, to, limit, ...query }) => {
        const filter = await knownFilter(query);
        return { exchange: filter.exchange, market: filter.market, gaps: await q.gaps(db, filter, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/pipeline',
      summary: 'Connection states, per-stream rates, ingest latency p50/p99, consumer lag, store counts',
      query: schemas.none,
      handler: async () => pipelineReport(ctx),
    }),
    streamRoute({
      path: '/api/stream',
      summary:
        'Server-Sent Events: each data line is a JSON array of trade, bookTicker, candle, metric, anomaly, gap and dropped messages for the symbols asked for, on one exchange and market',
      query: schemas.stream,
      produces: 'text/event-stream',
      handler: async ({ symbols, intervals, exchange, market }, req, reply) => {
        const wanted: Instrument[] = [];
        for (const symbol of symbols) wanted.push(await known({ exchange, market, symbol }));
        const sub = live.subscribe({ instruments: wanted, ...(intervals ? { intervals } : {}) });
        ctx.streams.add(sub);
        try {
          await serveStream(req, reply, sub, { heartbeatMs: STREAM_HEARTBEAT_MS, hello: { ...ctx.instance, ...marketOf({ exchange, market }), symbols } });
        } finally {
          ctx.streams.delete(sub);
        }
        return reply;
      },
    }),
    ...alertRoutes(ctx),
  ];
}
