import { type Instrument, instrumentOf } from '../core/events.js';
import { InstrumentMap } from '../core/instrument-map.js';
import { candleKind, type CandleState } from '../processors/candles.js';
import { formatDecimal } from '../core/decimal.js';
import type { TradeInput } from '../processors/trade-input.js';
import type { WindowKind } from '../processors/window-engine.js';
import type { LiveCandle } from './contract.js';

interface Forming {
  /** Window start, epoch ms. */
  readonly time: number;
  readonly state: CandleState;
  readonly partial: boolean;
}

/**
 * The forming candle per instrument and interval, built from the trades the API is fed with the
 * processor's own candle code (candleKind: open and close by trade id, high/low, volume, count), so
 * the live candle and the stored one agree trade for trade. The processor's upserts arrive only
 * every trigger interval; this is what makes the chart move with each trade. Bucketed by trade time
 * (exchange time). The first window after start or reset is marked `partial`: its open and volume
 * miss the trades before the feed began. Trades older than the forming window are ignored here; the
 * processor owns lateness.
 */
export class LiveCandles {
  /** Per instrument, the forming candle of each interval, at the interval's index in `kinds`. */
  private readonly forming = new InstrumentMap<(Forming | undefined)[]>();
  private readonly kinds: readonly (readonly [string, WindowKind<TradeInput, CandleState>])[];

  constructor(intervals: readonly string[]) {
    this.kinds = intervals.map((interval) => [interval, candleKind({ interval, smaLengths: [], emaLengths: [], retain: 0 })] as const);
  }

  get intervals(): readonly string[] {
    return this.kinds.map(([interval]) => interval);
  }

  /** Applies one trade (tradeInput of a market trade); returns the updated candle of every interval it fell into. */
  apply(trade: TradeInput): LiveCandle[] {
    const out: LiveCandle[] = [];
    this.fold(trade, out);
    return out;
  }

  /** Applies one trade like `apply` without building messages: nobody listens, but a later snapshot must be right. */
  update(trade: TradeInput): void {
    this.fold(trade, undefined);
  }

  private fold(trade: TradeInput, out: LiveCandle[] | undefined): void {
    let forming = this.forming.get(trade.instrument);
    if (forming === undefined) {
      forming = [];
      this.forming.set(trade.instrument, forming);
    }
    for (let i = 0; i < this.kinds.length; i++) {
      const [interval, kind] = this.kinds[i]!;
      const time = Math.floor(trade.time / kind.sizeMs) * kind.sizeMs;
      const current = forming[i];
      if (current && time < current.time) continue;
      let next: Forming;
      if (!current || time > current.time) {
        next = { time, state: kind.create(trade), partial: current === undefined };
        forming[i] = next;
      } else {
        next = current;
        kind.add(next.state, trade);
      }
      out?.push(toMessage(trade.instrument, interval, next));
    }
  }

  /** Forgets an instrument's windows (after a disconnect): the next window is `partial` again. */
  reset(instrument: Instrument): void {
    this.forming.delete(instrument);
  }

  /** Current forming candles of an instrument, for a client that just subscribed. */
  snapshot(instrument: Instrument): LiveCandle[] {
    const out: LiveCandle[] = [];
    const forming = this.forming.get(instrument) ?? [];
    for (const [i, [interval]] of this.kinds.entries()) {
      const f = forming[i];
      if (f) out.push(toMessage(instrument, interval, f));
    }
    return out;
  }
}

function toMessage(instrument: Instrument, interval: string, f: Forming): LiveCandle {
  const s = f.state;
  return {
    type: 'candle',
    ...instrumentOf(instrument),
    interval,
    time: f.time,
    open: formatDecimal(s.open),
    high: formatDecimal(s.high),
    low: formatDecimal(s.low),
    close: formatDecimal(s.close),
    volume: formatDecimal(s.volume),
    tradeCount: s.tradeCount,
    source: 'live',
    final: false,
    partial: f.partial,
  };
}
