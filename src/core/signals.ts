import type { Instrument } from './events.js';

/**
 * The processor's outputs as one stream of signals (issue 12): candles, metric windows, anomalies
 * and whale trades. Consumers subscribe to it instead of re-deriving market rules: the live feed,
 * `serve` and the alert engine. In `tickflow run` it is an in-process fan-out; between roles it
 * travels on the Kafka topic `bus.topics.signals` (tickflow.signals) as JSON, keyed by instrument.
 * Decimals are strings, times epoch ms; no bigint, so every signal is plain JSON.
 */
interface SignalBase extends Instrument {
  readonly type: 'signal';
  /** Window start (candle, metric, anomaly) or trade time (whale), epoch ms. */
  readonly time: number;
}

/** A candle as the processor upserted it (partial while open, `final` once its window closed). */
export interface CandleSignal extends SignalBase {
  readonly kind: 'candle';
  readonly interval: string;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly tradeCount: number;
  readonly vwap: string | null;
  /** Moving averages by name (`sma20`, `ema12`), decimal strings. */
  readonly averages: Readonly<Record<string, string | null>>;
  readonly final: boolean;
}

/** A trade-metrics window with the statistics alert rules compare with thresholds. */
export interface TradeMetricsSignal extends SignalBase {
  readonly kind: 'tradeMetrics';
  readonly interval: string;
  /** Window end, epoch ms. */
  readonly end: number;
  readonly final: boolean;
  readonly vwap: string | null;
  readonly volume: string;
  readonly buyVolume: string;
  readonly sellVolume: string;
  readonly tradeCount: number;
  readonly priceStddev: number;
  readonly open: string;
  readonly close: string;
  /** Price stddev / VWAP; null without trades. */
  readonly volatility: number | null;
  /** Volume / mean volume of the baseline windows; null without a baseline. */
  readonly volumeRatio: number | null;
  /** (close − open) / open × 100. */
  readonly priceMovePct: number;
}

/** A spread-metrics window (bookTicker). */
export interface SpreadMetricsSignal extends SignalBase {
  readonly kind: 'spreadMetrics';
  readonly interval: string;
  readonly end: number;
  readonly final: boolean;
  readonly avgSpreadBps: number;
  readonly minSpread: string;
  readonly maxSpread: string;
  readonly updateCount: number;
}

/** An anomaly of a final window, classified once (src/processors/anomalies.ts). */
export interface AnomalySignal extends SignalBase {
  readonly kind: 'anomaly';
  readonly anomaly: 'volatility' | 'volumeSpike' | 'priceMove' | 'spreadWarning';
  readonly message: string;
  readonly value: number | string | null;
  readonly threshold: number;
}

/** A trade at or above its symbol's whale notional. */
export interface WhaleSignal extends SignalBase {
  readonly kind: 'whale';
  readonly tradeId: number;
  readonly price: string;
  readonly quantity: string;
  readonly notional: string;
  readonly side: 'buy' | 'sell';
  /** The symbol's whale threshold in quote currency (config.processor.whaleNotional*). */
  readonly threshold: string;
}

/** Everything the processor publishes on the `signals` topic, tagged by `kind`. */
export type Signal = CandleSignal | TradeMetricsSignal | SpreadMetricsSignal | AnomalySignal | WhaleSignal;
/** `candle`, `tradeMetrics`, `spreadMetrics`, `anomaly` or `whale`. */
export type SignalKind = Signal['kind'];
