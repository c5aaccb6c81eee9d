import type { GapEvent, Instrument } from '../core/events.js';

/**
 * What /api/stream sends. Every message but `dropped` names its instrument (exchange, market, symbol). Each SSE `data:` line is a JSON array of these (one batch per write).
 * Decimal fields stay strings, as in the REST API; times are epoch ms.
 */

export interface LiveTrade extends Instrument {
  readonly type: 'trade';
  readonly kind: 'trade' | 'aggTrade';
  readonly id: number;
  readonly price: string;
  readonly quantity: string;
  readonly time: number;
  readonly buyerIsMaker: boolean;
  /** price × quantity reached the whale threshold for the symbol (processor.whaleNotional*). */
  readonly whale: boolean;
}

/**
 * `bookTicker`: the best bid and ask (decimal strings); `time` in epoch ms is USD-M's transaction time
 * `T`, else the event time (spot sends none: the ingestion time).
 */
export interface LiveBookTicker extends Instrument {
  readonly type: 'bookTicker';
  readonly time: number;
  readonly bidPrice: string;
  readonly bidQty: string;
  readonly askPrice: string;
  readonly askQty: string;
}

/** `candle`: a forming or final candle of `interval`; decimals as strings, `time` the window start (epoch ms). */
export interface LiveCandle extends Instrument {
  readonly type: 'candle';
  readonly interval: string;
  /** Window start, epoch ms. */
  readonly time: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly tradeCount: number;
  /**
   * `live`: the API's own forming candle, built from the trades it was fed (immediate);
   * `processor`: the processor's upserted row (authoritative, with moving averages, but only every
   * trigger interval).
   */
  readonly source: 'live' | 'processor';
  readonly final: boolean;
  /** `live` only: the feed started (or reset) inside this window, so open/volume miss early trades. */
  readonly partial: boolean;
  readonly vwap?: string | null;
  /** Moving averages by name (`sma20`, `ema12`, ...), `processor` only. */
  readonly averages?: Readonly<Record<string, string | null>>;
}

/**
 * `metric`: a trade- or spread-metrics window starting at `time` (epoch ms); `values` holds some of its
 * fields, named as in /api/metrics (interval; decimals as strings; counts, stddev and bps as numbers).
 */
export interface LiveMetric extends Instrument {
  readonly type: 'metric';
  /** `trades`: windowed trade metrics; `spread`: windowed spread metrics. */
  readonly kind: 'trades' | 'spread';
  readonly time: number;
  readonly values: Readonly<Record<string, string | number | null>>;
}

export type { AnomalyKind } from '../processors/anomalies.js';
import type { AnomalyKind } from '../processors/anomalies.js';

/** `anomaly`: a flagged window (volatility, volume spike, price move, spread warning) starting at `time`, epoch ms. */
export interface LiveAnomaly extends Instrument {
  readonly type: 'anomaly';
  readonly kind: AnomalyKind;
  readonly time: number;
  readonly message: string;
  readonly value?: number | string | null;
  /** The threshold the value crossed (config.processor.*); the message states it too. */
  readonly threshold?: number | string | null;
}

/** `gap`: a hole the source found in an id sequence; `time` is when it was detected, epoch ms. */
export interface LiveGap extends Instrument {
  readonly type: 'gap';
  readonly stream: GapEvent['stream'];
  readonly firstMissingId: number;
  readonly lastMissingId: number;
  readonly time: number;
  readonly reason: string;
}

/** The client was too slow: this many trades / events were left out of its buffer. */
export interface LiveDropped {
  readonly type: 'dropped';
  readonly trades: number;
  readonly events: number;
}

/** Every message type of /api/stream, tagged by `type`. */
export type LiveMessage = LiveTrade | LiveBookTicker | LiveCandle | LiveMetric | LiveAnomaly | LiveGap | LiveDropped;

/** Messages that belong to one symbol (everything except the `dropped` marker). */
export type SymbolMessage = Exclude<LiveMessage, LiveDropped>;
