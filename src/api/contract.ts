import { z } from 'zod';
import { ALERT_CONDITIONS, NOTIFIER_KINDS } from '../config/schema.js';
import { ANOMALY_KINDS } from '../processors/anomalies.js';
import { type ApiErrorCode, ApiErrors } from './errors.js';

/**
 * The body of every JSON response of the HTTP API and every message of /api/stream, once, as zod
 * schemas. The server's handlers are typed by them (routes.ts: a handler must return its route's
 * `ApiResponses[path]`; the live feed builds LiveMessage values), the OpenAPI document publishes
 * the JSON bodies (responses.200), test/api/contract.test.ts parses real answers and streamed
 * messages with them, and the dashboard imports the types only (`import type`), so esbuild ships no zod.
 *
 * Units everywhere: decimals are JSON strings exactly as stored (NUMERIC::text, never a float);
 * times are epoch milliseconds; ids are numbers (every Binance id is far below 2^53). Objects are
 * strict: a field the server sends but the contract does not name fails the contract test.
 */

/** A decimal as Binance and PostgreSQL write it: `61000.01`, `-0.5`; never an exponent or a float's noise. */
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, { message: 'expected a decimal string such as 61000.01' });
/** Epoch milliseconds. */
const epochMs = z.number().nonnegative();
const count = z.number().int().nonnegative();
const id = z.number().int().nonnegative();

const marketId = { exchange: z.string(), market: z.string() };
const instrument = { ...marketId, symbol: z.string() };
const instrumentObject = z.strictObject(instrument);

/** One instrument of GET /api/symbols. */
const symbolInfo = z.strictObject({
  ...instrument,
  configured: z.boolean(),
  /** Trades of it are stored. */
  hasData: z.boolean(),
  /** exchangeInfo PRICE_FILTER tickSize and LOT_SIZE stepSize, when the source read them at start. */
  tickSize: decimal.optional(),
  stepSize: decimal.optional(),
});

/**
 * One candle with every field of a Binance kline (GET /api/v3/klines: open time, OHLC, volume,
 * close time, quote asset volume, number of trades, taker buy base and quote volume), plus what the
 * processor adds.
 */
const candleRow = z.strictObject({
  /** Open time (window start), epoch ms. */
  time: epochMs,
  /** Binance's kline close time: open time + interval − 1 ms. */
  closeTime: epochMs,
  open: decimal,
  high: decimal,
  low: decimal,
  close: decimal,
  volume: decimal,
  quoteVolume: decimal,
  takerBuyVolume: decimal,
  takerBuyQuoteVolume: decimal,
  tradeCount: count,
  vwap: decimal.nullable(),
  /** The window is closed (watermark passed); the row will not change again. */
  final: z.boolean(),
  /** Every trade of the window was seen (no gap, not started mid-window). */
  complete: z.boolean(),
  /** Moving averages by name (`sma20`, `ema12`); null until enough candles exist. */
  averages: z.record(z.string(), decimal.nullable()),
});

/** One trade of the tape: individual trades when the symbol has them, aggregated trades otherwise. */
const tradeRow = z.strictObject({
  kind: z.enum(['trade', 'aggTrade']),
  id,
  price: decimal,
  quantity: decimal,
  time: epochMs,
  buyerIsMaker: z.boolean(),
  /** price × quantity ≥ the symbol's whale notional, compared in NUMERIC. */
  whale: z.boolean(),
});

/** One window of the processor's trade metrics (trade_metrics), its running state left out. */
const tradeMetricRow = z.strictObject({
  /** Window start, epoch ms. */
  time: epochMs,
  /** Window end (exclusive), epoch ms. */
  windowEnd: epochMs,
  /** The window length as the processor names it (`1m`). */
  interval: z.string(),
  vwap: decimal.nullable(),
  /** Population standard deviation of the trade prices: a float by nature. */
  priceStddev: z.number(),
  tradeCount: count,
  volume: decimal,
  quoteVolume: decimal,
  /** Taker buy and sell base volume. */
  buyVolume: decimal,
  sellVolume: decimal,
  /** buyVolume / sellVolume; null when nothing was sold. */
  buySellRatio: decimal.nullable(),
  largestTradeQty: decimal,
  largestTradeNotional: decimal,
  open: decimal,
  close: decimal,
  volatilityAlert: z.boolean(),
  volumeSpike: z.boolean(),
  priceMove: z.boolean(),
  final: z.boolean(),
});

/** One window of the processor's bid/ask spread metrics (spread_metrics). */
const spreadRow = z.strictObject({
  time: epochMs,
  windowEnd: epochMs,
  interval: z.string(),
  avgSpread: decimal,
  minSpread: decimal,
  maxSpread: decimal,
  /** Mean spread in basis points of the mid price: a statistic, so a float. */
  avgSpreadBps: z.number(),
  avgMid: decimal,
  updateCount: count,
  spreadWarning: z.boolean(),
  final: z.boolean(),
});

/** A trade at or above the whale notional (whale_trades). */
const whaleRow = z.strictObject({
  symbol: z.string(),
  id,
  time: epochMs,
  price: decimal,
  quantity: decimal,
  /** price × quantity in the quote asset. */
  notional: decimal,
  /** The taker's side: `sell` when the buyer was the maker. */
  side: z.enum(['buy', 'sell']),
});

/** A flagged metric window as an anomaly line (processors/anomalies.ts); `time` is the window start. */
const anomalyRow = z.strictObject({
  ...instrument,
  kind: z.enum(ANOMALY_KINDS),
  time: epochMs,
  /** States the value and the threshold it crossed. */
  message: z.string(),
  value: z.union([z.number(), z.string()]).nullable(),
  /** The configured threshold (config.processor.*). */
  threshold: z.number(),
  final: z.boolean(),
});

/** A hole found in a trade id sequence (or a depth resync), with how healing it from REST ended. */
const gapRow = z.strictObject({
  symbol: z.string(),
  stream: z.enum(['trade', 'aggTrade', 'depth']),
  firstMissingId: id,
  lastMissingId: id,
  /** lastMissingId − firstMissingId + 1. */
  missing: count,
  /** Detected at, epoch ms. */
  time: epochMs,
  /** `reconnect`, `rotation`, `sequence` or `restart` (core/events.ts GapEvent). */
  reason: z.string(),
  /** Trade/aggTrade gaps: `healed`, `partial`, `failed`, or null while healing has not finished (depth gaps: always null, the book resyncs). */
  healStatus: z.enum(['healed', 'partial', 'failed']).nullable(),
  /** Ids REST returned inside the gap. */
  healRows: count.nullable(),
  /** Epoch ms healing finished. */
  healedAt: epochMs.nullable(),
  /** Why healing was partial or failed. */
  healError: z.string().nullable(),
});

/** A price level: `[price, quantity]`, both decimal strings (Binance depth `bids`/`asks`). */
const priceLevel = z.tuple([decimal, decimal]);

/** Ingest latency percentiles over recent events, ms. */
const latencySummary = { p50: z.number().nullable(), p99: z.number().nullable(), samples: count };

/** An alert of the running engine (alerts/engine.ts ActiveAlert). */
const activeAlert = z.strictObject({
  rule: z.string(),
  /** The alert's identity within its rule: an instrument (`binance:spot:BTCUSDT`), a consumer group, a connection or a stream. */
  key: z.string(),
  /** Absent where the alert belongs to no instrument (a consumer group, a connection). */
  instrument: instrumentObject.optional(),
  state: z.enum(['pending', 'firing']),
  /** The condition's value at the last evaluation, in its unit (see ALERT_CONDITIONS); null without data. */
  value: z.number().nullable(),
  threshold: z.number(),
  /** Since when the condition holds, epoch ms. */
  activeAt: epochMs,
  /** When it fired, epoch ms; absent while pending. */
  firedAt: epochMs.optional(),
});

/** A transition stored in alert_events. */
const alertTransition = z.strictObject({
  rule: z.string(),
  condition: z.enum(ALERT_CONDITIONS),
  key: z.string(),
  instrument: instrumentObject.nullable(),
  state: z.enum(['firing', 'repeat', 'resolved']),
  value: z.number().nullable(),
  threshold: z.number(),
  activeAt: epochMs,
  /** When the transition happened, epoch ms. */
  at: epochMs,
  /** The notification text, stating value and threshold. */
  message: z.string(),
});

/** A configured alert rule (config alerts.rules, defaults applied; durations in ms) and its durations in words. */
const alertRule = z.strictObject({
  name: z.string(),
  condition: z.enum(ALERT_CONDITIONS),
  threshold: z.number(),
  thresholds: z.record(z.string(), z.number()),
  symbols: z.array(z.string()),
  for: z.number(),
  within: z.number(),
  noData: z.enum(['ok', 'alerting']),
  noDataAfter: z.number(),
  notify: z.array(z.enum(NOTIFIER_KINDS)),
  group: z.enum(['symbol', 'rule']),
  repeat: z.number(),
  sendResolved: z.boolean(),
  /** `for` in words (`2m`). */
  forText: z.string(),
  /** `repeat` in words, `never` for 0. */
  repeatText: z.string(),
});

/** GET /api/pipeline: what the running pipeline reports about itself. */
const pipelineResponse = z.strictObject({
  /** When the report was made, epoch ms. */
  time: epochMs,
  /** The source of this process (sources/source.ts SourceStatus); null in roles that do not ingest (serve). */
  source: z
    .strictObject({
      /** `binance`, `sim`, `replay`, or several joined with `+`. */
      kind: z.string(),
      connections: z.array(
        z.strictObject({
          id: z.string(),
          state: z.enum(['connecting', 'open', 'reconnecting', 'closed']),
          /** Streams subscribed on this connection. */
          streams: count,
          connectedAt: epochMs.nullable(),
          reconnects: count,
          lastMessageAt: epochMs.nullable(),
          lastError: z.string().nullable(),
        }),
      ),
      /** Last message time per stream name (`btcusdt@trade`), epoch ms. */
      lastMessageAt: z.record(z.string(), epochMs),
      /** A finite source (replay) has emitted everything it could. */
      finished: z.boolean(),
      /** Why a finite source ended before its end. */
      error: z.string().optional(),
    })
    .nullable(),
  bus: z.strictObject({
    kind: z.enum(['memory', 'kafka', 'kinesis']),
    /** Per group and partition, when the bus knows it (Kafka, and the memory bus of `run`). */
    consumerLag: z
      .array(
        z.strictObject({
          group: z.string(),
          topic: z.string(),
          partition: count,
          /** Processing lag: records not yet processed. */
          lag: count,
          /** Records processed but kept uncommitted in open windows (read again after a crash): not a delay. */
          recoveryDistance: count.optional(),
        }),
      )
      .nullable(),
  }),
  /** Gap healing in this process (history/healer.ts HealReport); null or absent where it does not run. */
  heal: z
    .strictObject({
      enabled: z.boolean(),
      /** Gaps in the queue, the one being healed included. */
      queued: count,
      /** Outcomes since this process started. */
      healed: count,
      partial: count,
      failed: count,
      /** Trades/aggTrades fetched and stored since start. */
      rows: count,
      /** REQUEST_WEIGHT used this minute per market, as the exchange reported it (Binance X-MBX-USED-WEIGHT-1M). */
      weight: z.record(z.string(), z.strictObject({ used: count, limit: count, pausedUntil: epochMs })),
    })
    .nullable()
    .optional(),
  /** Per instrument and stream: mean messages per second over the last 10 s, and the last event time. */
  streams: z.array(z.strictObject({ ...instrument, stream: z.string(), messagesPerSecond: z.number().nonnegative(), lastEventAt: epochMs })),
  /** The exchangeInfo trading rules the source read at start (PRICE_FILTER tickSize, LOT_SIZE stepSize). */
  instruments: z.array(z.strictObject({ ...instrument, tickSize: decimal, stepSize: decimal })).optional(),
  /**
   * Local receive time − exchange event time, ms, over recent events, per stream too.
   * `notApplicable` says why there is none (a replay's receive times are the recording's clock).
   */
  ingestLatencyMs: z.strictObject({
    ...latencySummary,
    byStream: z.record(z.string(), z.strictObject(latencySummary)),
    notApplicable: z.string().optional(),
  }),
  /** Stream clients and the messages buffered for them. */
  live: z.strictObject({ subscribers: count, buffered: count }),
  /** Row counts; null when the database did not answer (`reachable` false). */
  store: z.strictObject({
    kind: z.enum(['embedded', 'postgres']),
    reachable: z.boolean(),
    gaps: count.nullable(),
    /** Trade/aggTrade gaps not (yet) healed completely. */
    unhealedGaps: count.nullable(),
    deadLetters: count.nullable(),
  }),
  health: z.strictObject({ ready: z.boolean(), reasons: z.array(z.string()) }),
});

/** The body of every error answer (4xx, 5xx): a TF_API_* code of ApiErrors and a message naming what is wrong. */
export const errorBodySchema = z.strictObject({
  code: z.enum(Object.keys(ApiErrors) as [ApiErrorCode, ...ApiErrorCode[]]),
  message: z.string(),
});

/** The `hello` event /api/stream sends first: a new `id` after a reconnect means the server restarted (reload). */
export const streamHelloSchema = z.strictObject({
  id: z.string(),
  /** When this server started, epoch ms. */
  startedAt: epochMs,
  ...marketId,
  symbols: z.array(z.string()),
});

/** `trade`: one trade of the tape, as /api/trades lists it (the symbol's trades, or aggTrades when it has none). */
const liveTrade = tradeRow.extend({ type: z.literal('trade'), ...instrument });

/**
 * `bookTicker`: the best bid and ask (decimal strings); `time` in epoch ms is USD-M's transaction time
 * `T`, else the event time (spot sends none: the ingestion time).
 */
const liveBookTicker = z.strictObject({
  type: z.literal('bookTicker'),
  ...instrument,
  time: epochMs,
  bidPrice: decimal,
  bidQty: decimal,
  askPrice: decimal,
  askQty: decimal,
});

/** `candle`: a forming or final candle of `interval`; decimals as strings, `time` the window start (epoch ms). */
const liveCandle = z.strictObject({
  type: z.literal('candle'),
  ...instrument,
  interval: z.string(),
  time: epochMs,
  open: decimal,
  high: decimal,
  low: decimal,
  close: decimal,
  volume: decimal,
  tradeCount: count,
  /**
   * `live`: the API's own forming candle, built from the trades it was fed (immediate);
   * `processor`: the processor's upserted row (authoritative, with moving averages, but only every
   * trigger interval).
   */
  source: z.enum(['live', 'processor']),
  final: z.boolean(),
  /** `live` only: the feed started (or reset) inside this window, so open/volume miss early trades. */
  partial: z.boolean(),
  vwap: decimal.nullable().optional(),
  /** Moving averages by name (`sma20`, `ema12`, ...), `processor` only. */
  averages: z.record(z.string(), decimal.nullable()).optional(),
});

/**
 * `metric`: a trade- or spread-metrics window starting at `time` (epoch ms); `values` holds some of its
 * fields, named as in /api/metrics (interval; decimals as strings; counts, stddev and bps as numbers).
 */
const liveMetric = z.strictObject({
  type: z.literal('metric'),
  ...instrument,
  /** `trades`: windowed trade metrics; `spread`: windowed spread metrics. */
  kind: z.enum(['trades', 'spread']),
  time: epochMs,
  values: z.record(z.string(), z.union([z.string(), z.number(), z.null()])),
});

/** `anomaly`: a flagged window (volatility, volume spike, price move, spread warning) starting at `time`, epoch ms. */
const liveAnomaly = z.strictObject({
  type: z.literal('anomaly'),
  ...instrument,
  kind: z.enum(ANOMALY_KINDS),
  time: epochMs,
  message: z.string(),
  value: z.union([z.number(), z.string()]).nullable().optional(),
  /** The threshold the value crossed (config.processor.*); the message states it too. */
  threshold: z.union([z.number(), z.string()]).nullable().optional(),
});

/** `gap`: a hole the source found in an id sequence; `time` is when it was detected, epoch ms. */
const liveGap = z.strictObject({
  type: z.literal('gap'),
  ...instrument,
  stream: z.enum(['trade', 'aggTrade', 'depth']),
  firstMissingId: id,
  lastMissingId: id,
  time: epochMs,
  reason: z.string(),
});

/** `dropped`: the client was too slow; this many trades / events were left out of its buffer. */
const liveDropped = z.strictObject({ type: z.literal('dropped'), trades: count, events: count });

/**
 * One message of /api/stream. Every message but `dropped` names its instrument (exchange, market,
 * symbol); each SSE `data:` line is a JSON array of them (one batch per write).
 */
export const liveMessageSchema = z.discriminatedUnion('type', [liveTrade, liveBookTicker, liveCandle, liveMetric, liveAnomaly, liveGap, liveDropped]);

/** The response schema of every JSON route, by path. */
export const responseSchemas = {
  '/api/symbols': z.strictObject({
    symbols: z.array(symbolInfo),
    /** The market a query without `exchange`/`market` gets: the first configured one. */
    defaultMarket: z.strictObject(marketId),
    /** processor.candleIntervals. */
    intervals: z.array(z.string()),
  }),
  '/api/candles': z.strictObject({ ...instrument, interval: z.string(), candles: z.array(candleRow) }),
  '/api/trades': z.strictObject({
    ...instrument,
    /** The whale threshold of the symbol in the quote asset (processor.whaleNotional*). */
    whaleNotional: decimal,
    trades: z.array(tradeRow),
  }),
  '/api/book': z.strictObject({
    ...instrument,
    /** `live`: the process's own book; `stored`: the latest book_snapshots row; `none`: no book yet (empty sides). */
    source: z.enum(['live', 'stored', 'none']),
    /** Binance lastUpdateId / `u` of the levels; null with `source: none`. */
    updateId: id.nullable(),
    /** Exchange time the levels reflect, epoch ms; null with `source: none`. */
    time: epochMs.nullable(),
    /** Levels asked for per side. */
    depth: count,
    /** Best first. */
    bids: z.array(priceLevel),
    asks: z.array(priceLevel),
  }),
  '/api/metrics/trades': z.strictObject({ ...instrument, metrics: z.array(tradeMetricRow) }),
  '/api/metrics/spreads': z.strictObject({ ...instrument, metrics: z.array(spreadRow) }),
  '/api/whales': z.strictObject({ ...marketId, whales: z.array(whaleRow) }),
  '/api/anomalies': z.strictObject({ ...marketId, anomalies: z.array(anomalyRow) }),
  '/api/gaps': z.strictObject({ ...marketId, gaps: z.array(gapRow) }),
  '/api/pipeline': pipelineResponse,
  '/api/alerts': z.strictObject({
    /** False where no alert engine runs (alerts.enabled false). */
    engine: z.boolean(),
    firing: z.array(activeAlert),
    pending: z.array(activeAlert),
    /** Newest first. */
    history: z.array(alertTransition),
  }),
  '/api/alerts/rules': z.strictObject({
    evaluateIntervalMs: count,
    notifiers: z.strictObject({ smtp: z.boolean(), webhook: z.boolean() }),
    rules: z.array(alertRule),
  }),
} as const;

/** Every path with a JSON body described here. */
export type ApiPath = keyof typeof responseSchemas;

/**
 * `T` with every property and array read-only, so that the server's own read-only values (a
 * source's status, a book's levels) satisfy the contract as they are.
 */
export type Frozen<T> = T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** The body of each JSON route, as the dashboard receives it. */
export type ApiResponses = { [P in ApiPath]: Frozen<z.output<(typeof responseSchemas)[P]>> };

/** GET /api/symbols: configured instruments and those with stored trades, the default market, the candle intervals. */
export type SymbolsResponse = ApiResponses['/api/symbols'];
/** One instrument of GET /api/symbols. */
export type SymbolInfo = SymbolsResponse['symbols'][number];
/** An exchange's market segment (`binance` `usdm`). */
export type MarketId = SymbolsResponse['defaultMarket'];
/** One candle of GET /api/candles: every Binance kline field, VWAP, moving averages, final/complete. */
export type ApiCandle = ApiResponses['/api/candles']['candles'][number];
/** One trade of GET /api/trades (the tape), with its whale flag. */
export type ApiTrade = ApiResponses['/api/trades']['trades'][number];
/** One window of GET /api/metrics/trades. */
export type ApiTradeMetrics = ApiResponses['/api/metrics/trades']['metrics'][number];
/** One window of GET /api/metrics/spreads. */
export type ApiSpreadMetrics = ApiResponses['/api/metrics/spreads']['metrics'][number];
/** One trade of GET /api/whales. */
export type ApiWhale = ApiResponses['/api/whales']['whales'][number];
/** One anomaly of GET /api/anomalies. */
export type ApiAnomaly = ApiResponses['/api/anomalies']['anomalies'][number];
/** One gap of GET /api/gaps, with how healing it ended. */
export type ApiGap = ApiResponses['/api/gaps']['gaps'][number];
/** GET /api/book: the best levels per side, from the live book, the latest snapshot, or none yet. */
export type BookResponse = ApiResponses['/api/book'];
/** GET /api/pipeline: source, bus lag, rates, ingest latency, store counts, healing, health. */
export type PipelineReport = ApiResponses['/api/pipeline'];
/** GET /api/alerts: the engine's firing and pending alerts and the history of transitions. */
export type AlertsResponse = ApiResponses['/api/alerts'];
/** GET /api/alerts/rules: the configured rules, the evaluation interval (ms), the enabled notifiers. */
export type AlertRulesResponse = ApiResponses['/api/alerts/rules'];

/** The `hello` event of /api/stream. */
export type StreamHello = Frozen<z.output<typeof streamHelloSchema>>;
/** A `trade` message of /api/stream. */
export type LiveTrade = Frozen<z.output<typeof liveTrade>>;
/** A `bookTicker` message of /api/stream. */
export type LiveBookTicker = Frozen<z.output<typeof liveBookTicker>>;
/** A `candle` message of /api/stream. */
export type LiveCandle = Frozen<z.output<typeof liveCandle>>;
/** A `metric` message of /api/stream. */
export type LiveMetric = Frozen<z.output<typeof liveMetric>>;
/** An `anomaly` message of /api/stream. */
export type LiveAnomaly = Frozen<z.output<typeof liveAnomaly>>;
/** A `gap` message of /api/stream. */
export type LiveGap = Frozen<z.output<typeof liveGap>>;
/** The `dropped` marker of /api/stream. */
export type LiveDropped = Frozen<z.output<typeof liveDropped>>;
/** Every message type of /api/stream, tagged by `type`. */
export type LiveMessage = LiveTrade | LiveBookTicker | LiveCandle | LiveMetric | LiveAnomaly | LiveGap | LiveDropped;
/** Messages that belong to one symbol (everything except the `dropped` marker). */
export type SymbolMessage = Exclude<LiveMessage, LiveDropped>;
/** The body of an error answer. */
export type ApiErrorBody = Frozen<z.output<typeof errorBodySchema>>;
