import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { AlertsView } from '../../src/api/alert-routes.js';
import { buildApp } from '../../src/api/app.js';
import type { LiveBookLookup } from '../../src/api/book.js';
import { createLiveFeed, type LiveFeed } from '../../src/api/live.js';
import type { PipelineStatus } from '../../src/api/pipeline.js';
import { validate } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import type { Instrument } from '../../src/core/events.js';
import type { AggTradeEvent, BookTickerEvent, TradeEvent } from '../../src/core/events.js';
import type { CandleRow } from '../../src/processors/candles.js';
import type { Upsert } from '../../src/processors/processor-core.js';
import { writeUpserts } from '../../src/processors/processor-store.js';
import type { SpreadMetricsRow } from '../../src/processors/spread-metrics.js';
import type { TradeMetricsRow } from '../../src/processors/trade-metrics.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';

/**
 * A migrated embedded database in a temporary directory, removed after the test (or, without a
 * test context, after the file: one database shared by its tests).
 */
export async function openTestDatabase(t: { after(fn: () => Promise<void>): void } = { after: (fn) => after(fn) }): Promise<Database> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tickflow-api-'));
  const db = await openEmbedded({ dataDir, port: 0, logger: silentLogger() });
  t.after(async () => {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  await migrate(db, { logger: silentLogger(), retentionDays: 3650 });
  return db;
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly live: LiveFeed;
  readonly config: Config;
  readonly health: HealthRegistry;
}

export const IDLE_PIPELINE: PipelineStatus = { source: null, bus: { kind: 'memory', consumerLag: null } };

/** buildApp with real parts around the given database; closed after the test. */
export function testApp(
  t: TestContext,
  db: Database,
  options: { config?: ConfigInput; pipeline?: () => PipelineStatus; live?: LiveFeed; webRoot?: string; book?: LiveBookLookup; alerts?: AlertsView } = {},
): TestApp {
  const config = validate(options.config ?? {});
  const live =
    options.live ??
    createLiveFeed({
      intervals: config.processor.candleIntervals,
      whaleNotional: config.processor.whaleNotional,
      whaleNotionalBySymbol: config.processor.whaleNotionalBySymbol,
    });
  const health = new HealthRegistry();
  const app = buildApp({
    config,
    db,
    live,
    pipeline: options.pipeline ?? (() => IDLE_PIPELINE),
    health,
    metrics: createMetrics(),
    logger: silentLogger(),
    ...(options.webRoot !== undefined ? { webRoot: options.webRoot } : {}),
    ...(options.book !== undefined ? { book: options.book } : {}),
    ...(options.alerts !== undefined ? { alerts: options.alerts } : {}),
  });
  t.after(() => app.close());
  return { app, live, config, health };
}

export interface SeedTrade {
  readonly symbol: string;
  readonly id: number;
  readonly price: string;
  readonly quantity: string;
  readonly time: number;
  readonly buyerIsMaker?: boolean;
  readonly kind?: 'trade' | 'aggTrade';
}

export async function insertTrades(db: Database, trades: readonly SeedTrade[]): Promise<void> {
  for (const t of trades) {
    await db.query(
      `INSERT INTO trades (exchange, market, symbol, kind, trade_id, price, quantity, buyer_is_maker, trade_time, event_time, ingestion_timestamp)
       VALUES ('binance', 'spot', $1, $2, $3, $4, $5, $6, $7, $7, $7)`,
      [t.symbol, t.kind ?? 'trade', t.id, t.price, t.quantity, t.buyerIsMaker ?? false, new Date(t.time).toISOString()],
    );
  }
}

/** Market events as a source would emit them (ingested 5 ms after the trade). */
export function trade(symbol: string, id: number, price: string, quantity: string, time: number): TradeEvent {
  return {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: time,
    ingestionTimestamp: (time + 5) * 1000,
    tradeId: id,
    price,
    quantity,
    tradeTime: time,
    buyerIsMaker: id % 2 === 0,
  };
}

export function aggTrade(symbol: string, id: number, price: string, quantity: string, time: number): AggTradeEvent {
  return {
    type: 'aggTrade',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: time,
    ingestionTimestamp: time * 1000,
    aggTradeId: id,
    price,
    quantity,
    firstTradeId: id,
    lastTradeId: id,
    tradeTime: time,
    buyerIsMaker: false,
  };
}

export function bookTicker(symbol: string, updateId: number, bid: string, ask: string, time = Date.now()): BookTickerEvent {
  return {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: time,
    ingestionTimestamp: time * 1000,
    updateId,
    bidPrice: bid,
    bidQty: '1',
    askPrice: ask,
    askQty: '2',
  };
}

/** The instrument of `symbol` on Binance spot (or another market). */
export function spot(symbol: string, market = 'spot'): Instrument {
  return { exchange: 'binance', market, symbol };
}

/** Processor rows with every column filled; tests override what they look at. */
export function candleRow(symbol: string, interval: string, windowStart: number, values: Partial<CandleRow> = {}): CandleRow {
  return {
    exchange: 'binance',
    market: 'spot',
    symbol,
    interval,
    windowStart,
    windowEnd: windowStart + 60_000,
    open: '100.00',
    high: '101.50',
    low: '99.25',
    close: '101.00',
    volume: '12.50000000',
    quoteVolume: '1262.50000000',
    tradeCount: 42,
    takerBuyVolume: '7.00000000',
    takerBuyQuoteVolume: '707.00000000',
    vwap: '101.00000000',
    firstTradeId: 1,
    lastTradeId: 42,
    indicators: { sma20: null, ema12: '100.5' },
    isFinal: true,
    isComplete: true,
    sourceOffset: 0n,
    ...values,
  };
}

export function tradeMetricsRow(symbol: string, windowStart: number, values: Partial<TradeMetricsRow> = {}): TradeMetricsRow {
  return {
    exchange: 'binance',
    market: 'spot',
    symbol,
    interval: '1m',
    windowStart,
    windowEnd: windowStart + 60_000,
    vwap: '100.5',
    priceStddev: 0.25,
    tradeCount: 10,
    volume: '5',
    quoteVolume: '502.5',
    buyVolume: '3',
    sellVolume: '2',
    buySellRatio: '1.5',
    largestTradeQty: '1',
    largestTradeNotional: '101',
    open: '100',
    close: '101',
    firstTradeId: 1,
    lastTradeId: 10,
    samples: 10,
    priceMean: 100.5,
    priceM2: 0.6,
    volatilityAlert: false,
    volumeBaseline: null,
    volumeSpike: false,
    priceMove: false,
    isFinal: true,
    sourceOffset: 0n,
    ...values,
  };
}

export function spreadMetricsRow(symbol: string, windowStart: number, values: Partial<SpreadMetricsRow> = {}): SpreadMetricsRow {
  return {
    exchange: 'binance',
    market: 'spot',
    symbol,
    interval: '30s',
    windowStart,
    windowEnd: windowStart + 30_000,
    avgSpread: '0.01',
    minSpread: '0.01',
    maxSpread: '0.02',
    avgSpreadBps: 1.25,
    avgMid: '100.005',
    updateCount: 30,
    sumSpread: '0.3',
    sumBidPlusAsk: '6000.3',
    sumBps: 37.5,
    spreadWarning: false,
    isFinal: true,
    sourceOffset: 0n,
    ...values,
  };
}

export async function insertProcessorRows(db: Database, upserts: readonly Upsert[]): Promise<void> {
  await db.transaction((tx) => writeUpserts(tx, upserts));
}
