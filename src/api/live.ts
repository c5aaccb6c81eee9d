import {
  type AggTradeEvent,
  isMarketTrade,
  type BookTickerEvent,
  type GapEvent,
  type Instrument,
  instrumentKey,
  instrumentOf,
  type PipelineEvent,
  type TradeEvent,
} from '../core/events.js';
import type { Signal } from '../core/signals.js';
import { type TradeInput, tradeInput } from '../processors/trade-input.js';
import { WhaleDetector } from '../processors/whales.js';
import { CoalescingBuffer, DEFAULT_BUFFER_LIMITS, type BufferLimits } from './live-buffer.js';
import { LiveCandles } from './live-candles.js';
import type { LiveAnomaly, LiveCandle, LiveMessage, LiveMetric, SymbolMessage } from './contract.js';
import { LiveStats, type LatencySummary, type StreamRate } from './live-stats.js';

/** A processor candle row as the integrator hands it over (window start in epoch ms). */
export type CandleUpdate = Omit<LiveCandle, 'type' | 'source' | 'partial'>;
/** A metrics window as the integrator hands it to publishMetric. */
export type MetricUpdate = Omit<LiveMetric, 'type'>;
/** An anomaly as the integrator hands it to publishAnomaly. */
export type AnomalyUpdate = Omit<LiveAnomaly, 'type'>;

/** What one /api/stream client asked for: instruments, and optionally candle intervals. */
export interface LiveFilter {
  readonly instruments: readonly Instrument[];
  /** Candle intervals wanted; all when absent. */
  readonly intervals?: readonly string[];
}

/** One /api/stream client's subscription: a bounded coalescing buffer it takes batches from. */
export interface LiveSubscription {
  /** Resolves as soon as messages are pending (at once if some are) or the subscription closes. */
  ready(): Promise<void>;
  /** Everything pending, coalesced; empties the buffer. */
  take(): LiveMessage[];
  /** Messages pending (bounded by the buffer limits). */
  readonly pending: number;
  readonly closed: boolean;
  close(): void;
}

/** What the live feed measures for /api/pipeline: subscribers, buffered messages, stream rates, ingest latency (ms). */
export interface LiveFeedStats {
  readonly subscribers: number;
  /** Messages waiting in all subscribers' buffers (bounded by subscribers × buffer limits). */
  readonly buffered: number;
  readonly streams: readonly StreamRate[];
  readonly ingestLatencyMs: LatencySummary & { readonly byStream: Readonly<Record<string, LatencySummary>> };
}

/**
 * The API's live view of the pipeline. The integrator feeds it every market event (`publish`) and
 * the processor's outputs; /api/stream subscribers receive them per instrument through bounded,
 * coalescing buffers, so a slow client costs a fixed amount of memory.
 */
export interface LiveFeed {
  publish(event: PipelineEvent): void;
  publishCandle(candle: CandleUpdate): void;
  publishMetric(metric: MetricUpdate): void;
  publishAnomaly(anomaly: AnomalyUpdate): void;
  /** The processor's signal stream: candles, metric windows and anomalies (whales: the tape flags them itself). */
  publishSignals(signals: readonly Signal[]): void;
  subscribe(filter: LiveFilter): LiveSubscription;
  stats(): LiveFeedStats;
  /** Ends every subscription (shutdown). */
  closeAll(): void;
}

/** How createLiveFeed builds the forming candle, flags whales and bounds each client. */
export interface LiveFeedOptions {
  /** Intervals of the live forming candle (config.processor.candleIntervals). */
  readonly intervals: readonly string[];
  /** Whale threshold in quote currency (config.processor.whaleNotional). */
  readonly whaleNotional: number;
  readonly whaleNotionalBySymbol?: Readonly<Record<string, number>>;
  /**
   * The trade stream the processor builds candles from (tradeStreamOf(config)); the tape and the
   * forming candle show the same one, so nothing counts twice. Default `trade`.
   */
  readonly tradeStream?: 'trade' | 'aggTrade';
  readonly limits?: BufferLimits;
  readonly now?: () => number;
}

/**
 * The in-memory LiveFeed behind /api/stream: computes the forming candle of every `options.intervals`
 * from the trades it is published (of `tradeStream` only), flags whales against `whaleNotional` (quote
 * asset), measures stream rates and ingest latency, and gives each subscriber a bounded coalescing
 * buffer (`limits`). Never throws on input; a slow client loses trades and events, counted in a
 * `dropped` message.
 */
export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  return new MemoryLiveFeed(options);
}

class Subscriber implements LiveSubscription {
  private readonly buffer: CoalescingBuffer;
  private wake: (() => void) | null = null;
  closed = false;

  constructor(
    /** instrumentKey of each instrument wanted. */
    readonly instruments: ReadonlySet<string>,
    readonly intervals: ReadonlySet<string> | null,
    limits: BufferLimits,
    private readonly onClose: (s: Subscriber) => void,
  ) {
    this.buffer = new CoalescingBuffer(limits);
  }

  wants(message: SymbolMessage): boolean {
    if (!this.instruments.has(instrumentKey(message))) return false;
    return message.type !== 'candle' || this.intervals === null || this.intervals.has(message.interval);
  }

  deliver(message: SymbolMessage): void {
    this.buffer.push(message);
    this.notify();
  }

  get pending(): number {
    return this.buffer.size;
  }

  ready(): Promise<void> {
    if (this.closed || this.buffer.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  take(): LiveMessage[] {
    return this.buffer.take();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

class MemoryLiveFeed implements LiveFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly candles: LiveCandles;
  private readonly liveStats = new LiveStats();
  /** Last state-like message per key, replayed to a new subscriber so it starts complete. */
  private readonly state = new Map<string, SymbolMessage>();
  /** Last bookTicker per instrumentKey, replayed (as a message) to a new subscriber. */
  private readonly books = new Map<string, BookTickerEvent>();
  private readonly whales: WhaleDetector;
  private readonly tradeStream: 'trade' | 'aggTrade';
  private readonly limits: BufferLimits;
  private readonly now: () => number;

  constructor(options: LiveFeedOptions) {
    this.candles = new LiveCandles(options.intervals);
    this.limits = options.limits ?? DEFAULT_BUFFER_LIMITS;
    this.now = options.now ?? Date.now;
    this.whales = new WhaleDetector({ whaleNotional: options.whaleNotional, whaleNotionalBySymbol: options.whaleNotionalBySymbol ?? {} });
    this.tradeStream = options.tradeStream ?? 'trade';
  }

  publish(event: PipelineEvent): void {
    switch (event.type) {
      case 'trade':
      case 'aggTrade':
        this.liveStats.record(event, this.now());
        this.onTrade(event);
        return;
      case 'bookTicker':
        this.liveStats.record(event, this.now());
        this.onBookTicker(event);
        return;
      case 'depth':
      case 'kline':
        this.liveStats.record(event, this.now());
        return;
      case 'gap':
        this.onGap(event);
        return;
      case 'depthSnapshot':
      case 'bookSnapshot':
      case 'deadLetter':
        return;
    }
  }

  publishCandle(candle: CandleUpdate): void {
    this.send({ ...candle, type: 'candle', source: 'processor', partial: false }, `cp:${instrumentKey(candle)}:${candle.interval}`);
  }

  publishMetric(metric: MetricUpdate): void {
    this.send({ ...metric, type: 'metric' }, `m:${instrumentKey(metric)}:${metric.kind}`);
  }

  publishAnomaly(anomaly: AnomalyUpdate): void {
    this.send({ ...anomaly, type: 'anomaly' });
  }

  publishSignals(signals: readonly Signal[]): void {
    for (const signal of signals) {
      switch (signal.kind) {
        case 'candle': {
          const { type: _type, kind: _kind, ...candle } = signal;
          this.publishCandle(candle);
          break;
        }
        case 'tradeMetrics':
          this.publishMetric({
            ...instrumentOf(signal),
            kind: 'trades',
            time: signal.time,
            values: {
              interval: signal.interval,
              vwap: signal.vwap,
              volume: signal.volume,
              buyVolume: signal.buyVolume,
              sellVolume: signal.sellVolume,
              tradeCount: signal.tradeCount,
              priceStddev: signal.priceStddev,
            },
          });
          break;
        case 'spreadMetrics':
          this.publishMetric({
            ...instrumentOf(signal),
            kind: 'spread',
            time: signal.time,
            values: {
              interval: signal.interval,
              avgSpreadBps: signal.avgSpreadBps,
              minSpread: signal.minSpread,
              maxSpread: signal.maxSpread,
              updateCount: signal.updateCount,
            },
          });
          break;
        case 'anomaly':
          this.publishAnomaly({
            ...instrumentOf(signal),
            kind: signal.anomaly,
            time: signal.time,
            message: signal.message,
            value: signal.value,
            threshold: signal.threshold,
          });
          break;
        case 'whale':
          break;
      }
    }
  }

  subscribe(filter: LiveFilter): LiveSubscription {
    const subscriber = new Subscriber(new Set(filter.instruments.map(instrumentKey)), filter.intervals ? new Set(filter.intervals) : null, this.limits, (s) =>
      this.subscribers.delete(s),
    );
    for (const message of this.state.values()) if (subscriber.wants(message)) subscriber.deliver(message);
    for (const book of this.books.values()) {
      const message = bookTickerMessage(book);
      if (subscriber.wants(message)) subscriber.deliver(message);
    }
    for (const instrument of filter.instruments) {
      for (const candle of this.candles.snapshot(instrument)) if (subscriber.wants(candle)) subscriber.deliver(candle);
    }
    this.subscribers.add(subscriber);
    return subscriber;
  }

  stats(): LiveFeedStats {
    const latency = this.liveStats.ingestLatency();
    return {
      subscribers: this.subscribers.size,
      buffered: [...this.subscribers].reduce((sum, s) => sum + s.pending, 0),
      streams: this.liveStats.streamRates(this.now()),
      ingestLatencyMs: { ...latency.all, byStream: latency.byStream },
    };
  }

  closeAll(): void {
    for (const s of [...this.subscribers]) s.close();
  }

  private onTrade(event: TradeEvent | AggTradeEvent): void {
    // The tape and the live candle show what the processor's candles count: market trades of its
    // trade stream only (tradeStreamOf), so a symbol with both streams is not counted twice.
    if (!isMarketTrade(event) || event.type !== this.tradeStream) return;
    let t: TradeInput;
    try {
      t = tradeInput(event);
    } catch {
      // Not a decimal price or a usable time: the processor dead-letters it; the live view skips it.
      return;
    }
    // The forming candles move either way (a client that subscribes later gets them); the messages
    // — five decimals formatted per interval and trade — are built only when someone listens.
    if (this.subscribers.size === 0) {
      this.candles.update(t);
      return;
    }
    this.send({
      type: 'trade',
      ...instrumentOf(event),
      kind: event.type,
      id: t.id,
      price: event.price,
      quantity: event.quantity,
      time: event.tradeTime,
      buyerIsMaker: event.buyerIsMaker,
      whale: this.whales.isWhale(event.symbol, t.notional),
    });
    for (const candle of this.candles.apply(t)) this.send(candle);
  }

  private onBookTicker(event: BookTickerEvent): void {
    // The latest top of book per instrument is kept as the event; a subscriber joining later gets its message.
    this.books.set(instrumentKey(event), event);
    if (this.subscribers.size > 0) this.send(bookTickerMessage(event));
  }

  private onGap(event: GapEvent): void {
    this.send({
      type: 'gap',
      ...instrumentOf(event),
      stream: event.stream,
      firstMissingId: event.firstMissingId,
      lastMissingId: event.lastMissingId,
      time: event.detectedAt,
      reason: event.reason,
    });
  }

  /** Fans a message out; `stateKey` also remembers it for subscribers that join later. */
  private send(message: SymbolMessage, stateKey?: string): void {
    if (stateKey !== undefined) this.state.set(stateKey, message);
    for (const s of this.subscribers) if (s.wants(message)) s.deliver(message);
  }
}

function bookTickerMessage(event: BookTickerEvent): SymbolMessage {
  return {
    type: 'bookTicker',
    ...instrumentOf(event),
    time: event.transactionTime ?? event.eventTime,
    bidPrice: event.bidPrice,
    bidQty: event.bidQty,
    askPrice: event.askPrice,
    askQty: event.askQty,
  };
}
