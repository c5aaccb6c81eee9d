import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Config } from '../config/schema.js';
import type { Database } from '../store/database.js';
import type { HealthRegistry } from '../ops/health.js';
import { decimalFromNumber, formatDecimal } from '../processors/decimal.js';
import { ApiError } from './errors.js';
import type { LiveFeed, LiveSubscription } from './live.js';
import type { RouteDoc } from './openapi.js';
import { pipelineReport, type PipelineStatus } from './pipeline.js';
import * as q from './queries.js';
import type { Schemas } from './schemas.js';
import { serveStream } from './stream.js';

export interface RouteContext {
  readonly config: Config;
  readonly db: Database;
  readonly live: LiveFeed;
  readonly pipeline: () => PipelineStatus | Promise<PipelineStatus>;
  readonly health: HealthRegistry;
  readonly schemas: Schemas;
  /** Sent to every stream client; a new value tells it the server restarted. */
  readonly instance: { readonly id: string; readonly startedAt: number };
  /** Open streams, ended when the app closes. */
  readonly streams: Set<LiveSubscription>;
}

export interface ApiRoute<S extends z.ZodType = z.ZodType> extends RouteDoc {
  readonly query: S;
  readonly handler: (query: z.output<S>, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

function route<S extends z.ZodType>(r: ApiRoute<S>): ApiRoute {
  return r as unknown as ApiRoute;
}

const STREAM_HEARTBEAT_MS = 15_000;

/** Every /api route: path, summary, query schema and handler (the OpenAPI document is made from this list). */
export function apiRoutes(ctx: RouteContext): ApiRoute[] {
  const { config, db, live, schemas } = ctx;
  const configured = new Set(config.source.symbols);

  /** 404 unless the symbol is configured or has stored trades. */
  const knownSymbol = async (symbol: string): Promise<string> => {
    if (configured.has(symbol) || (await q.hasData(db, symbol))) return symbol;
    throw new ApiError('TF_API_UNKNOWN_SYMBOL', `unknown symbol ${symbol}: configured are ${[...configured].join(', ')}`);
  };
  const whaleNotional = (symbol: string) =>
    formatDecimal(decimalFromNumber(config.processor.whaleNotionalBySymbol[symbol] ?? config.processor.whaleNotional));

  return [
    route({
      path: '/api/symbols',
      summary: 'Configured symbols and symbols with stored data, and the candle intervals',
      query: schemas.none,
      handler: async () => {
        const stored = new Set(await q.symbolsWithData(db));
        const all = [...new Set([...configured, ...stored])].sort();
        return {
          symbols: all.map((symbol) => ({ symbol, configured: configured.has(symbol), hasData: stored.has(symbol) })),
          intervals: config.processor.candleIntervals,
        };
      },
    }),
    route({
      path: '/api/candles',
      summary: 'OHLCV candles with VWAP and moving averages, oldest first (the newest `limit` of the range)',
      query: schemas.candles,
      handler: async ({ symbol, interval, from, to, limit }) => {
        await knownSymbol(symbol);
        return { symbol, interval, candles: await q.candles(db, symbol, interval, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/trades',
      summary: 'The recent trade tape, newest first, with a whale flag',
      query: schemas.trades,
      handler: async ({ symbol, limit }) => {
        await knownSymbol(symbol);
        const threshold = whaleNotional(symbol);
        return { symbol, whaleNotional: threshold, trades: await q.recentTrades(db, symbol, limit, threshold) };
      },
    }),
    route({
      path: '/api/metrics/trades',
      summary: 'Windowed trade metrics (volume, buy/sell pressure, volatility), oldest first',
      query: schemas.symbolSeries,
      handler: async ({ symbol, from, to, limit }) => {
        await knownSymbol(symbol);
        return { symbol, metrics: await q.tradeMetrics(db, symbol, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/metrics/spreads',
      summary: 'Windowed bid/ask spread metrics in basis points, oldest first',
      query: schemas.symbolSeries,
      handler: async ({ symbol, from, to, limit }) => {
        await knownSymbol(symbol);
        return { symbol, metrics: await q.spreadMetrics(db, symbol, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/whales',
      summary: 'Trades at or above the whale notional, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ symbol, from, to, limit }) => {
        if (symbol !== undefined) await knownSymbol(symbol);
        return { whales: await q.whales(db, symbol, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/anomalies',
      summary: 'Volatility, volume spike, price move and spread warnings, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ symbol, from, to, limit }) => {
        if (symbol !== undefined) await knownSymbol(symbol);
        return { anomalies: await q.anomalies(db, symbol, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/gaps',
      summary: 'Holes found in trade id sequences, newest first',
      query: schemas.anySymbolEvents,
      handler: async ({ symbol, from, to, limit }) => {
        if (symbol !== undefined) await knownSymbol(symbol);
        return { gaps: await q.gaps(db, symbol, { from, to, limit }) };
      },
    }),
    route({
      path: '/api/pipeline',
      summary: 'Connection states, per-stream rates, ingest latency p50/p99, consumer lag, store counts',
      query: schemas.none,
      handler: async () => pipelineReport(ctx),
    }),
    route({
      path: '/api/stream',
      summary:
        'Server-Sent Events: each data line is a JSON array of trade, bookTicker, candle, metric, anomaly, gap and dropped messages for the symbols asked for',
      query: schemas.stream,
      produces: 'text/event-stream',
      handler: async ({ symbols, intervals }, req, reply) => {
        for (const symbol of symbols) await knownSymbol(symbol);
        const sub = live.subscribe({ symbols, ...(intervals ? { intervals } : {}) });
        ctx.streams.add(sub);
        try {
          await serveStream(req, reply, sub, { heartbeatMs: STREAM_HEARTBEAT_MS, hello: { ...ctx.instance, symbols } });
        } finally {
          ctx.streams.delete(sub);
        }
        return reply;
      },
    }),
  ];
}
