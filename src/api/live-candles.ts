import { type Instrument, instrumentKey, instrumentOf } from '../core/events.js';
import { add, compare, formatDecimal, parseDecimal, type Dec } from '../core/decimal.js';
import { intervalMs } from '../core/intervals.js';
import type { LiveCandle } from './live-messages.js';


interface Forming {
  time: number;
  open: string;
  high: Dec;
  low: Dec;
  close: string;
  closeTime: number;
  volume: Dec;
  tradeCount: number;
  partial: boolean;
}

export interface CandleTrade extends Instrument {
  readonly price: string;
  readonly quantity: string;
  readonly time: number;
}

/**
 * The forming candle per instrument and interval, built from the trades the API is fed. The
 * processor's upserts arrive only every trigger interval; this is what makes the chart move with
 * each trade. Bucketed by trade time (exchange time). The first window after start or reset is
 * marked `partial`: its open and volume miss the trades before the feed began. Trades older than
 * the forming window are ignored here; the processor owns lateness.
 */
export class LiveCandles {
  private readonly forming = new Map<string, Forming>();
  private readonly lengths: ReadonlyMap<string, number>;

  constructor(intervals: readonly string[]) {
    this.lengths = new Map(intervals.map((i) => [i, intervalMs(i)]));
  }

  get intervals(): readonly string[] {
    return [...this.lengths.keys()];
  }

  /** Applies one trade; returns the updated candle of every interval it fell into. */
  apply(trade: CandleTrade): LiveCandle[] {
    const out: LiveCandle[] = [];
    const price = parseDecimal(trade.price);
    const quantity = parseDecimal(trade.quantity);
    for (const [interval, length] of this.lengths) {
      const key = `${instrumentKey(trade)}:${interval}`;
      const time = Math.floor(trade.time / length) * length;
      const current = this.forming.get(key);
      if (current && time < current.time) continue;
      let next: Forming;
      if (!current || time > current.time) {
        next = {
          time,
          open: trade.price,
          high: price,
          low: price,
          close: trade.price,
          closeTime: trade.time,
          volume: quantity,
          tradeCount: 1,
          partial: current === undefined,
        };
      } else {
        next = current;
        if (compare(price, next.high) > 0) next.high = price;
        if (compare(price, next.low) < 0) next.low = price;
        if (trade.time >= next.closeTime) {
          next.close = trade.price;
          next.closeTime = trade.time;
        }
        next.volume = add(next.volume, quantity);
        next.tradeCount += 1;
      }
      this.forming.set(key, next);
      out.push(toMessage(trade, interval, next));
    }
    return out;
  }

  /** Forgets an instrument's windows (after a disconnect): the next window is `partial` again. */
  reset(instrument: Instrument): void {
    for (const interval of this.lengths.keys()) this.forming.delete(`${instrumentKey(instrument)}:${interval}`);
  }

  /** Current forming candles of an instrument, for a client that just subscribed. */
  snapshot(instrument: Instrument): LiveCandle[] {
    const out: LiveCandle[] = [];
    for (const interval of this.lengths.keys()) {
      const f = this.forming.get(`${instrumentKey(instrument)}:${interval}`);
      if (f) out.push(toMessage(instrument, interval, f));
    }
    return out;
  }
}

function toMessage(instrument: Instrument, interval: string, f: Forming): LiveCandle {
  return {
    type: 'candle',
    ...instrumentOf(instrument),
    interval,
    time: f.time,
    open: f.open,
    high: formatDecimal(f.high),
    low: formatDecimal(f.low),
    close: f.close,
    volume: formatDecimal(f.volume),
    tradeCount: f.tradeCount,
    source: 'live',
    final: false,
    partial: f.partial,
  };
}
