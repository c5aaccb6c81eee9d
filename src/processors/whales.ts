import type { Instrument } from '../core/events.js';
import { compare, type Dec, decimalFromNumber, formatDecimal } from '../core/decimal.js';
import type { TradeInput } from './trade-input.js';

/** One `whale_trades` row, keyed by (exchange, market, symbol, trade_id): re-inserting it is a no-op. */
export interface WhaleRow extends Instrument {
  /** The trade id (`t`), or for aggTrade input the aggTrade id (`a`). */
  readonly tradeId: number;
  readonly tradeTime: number;
  readonly price: string;
  readonly quantity: string;
  readonly notional: string;
  /** The taker's side. */
  readonly side: 'buy' | 'sell';
}

/** Picks trades whose notional reaches the symbol's threshold (per-symbol override, else default). */
export class WhaleDetector {
  private readonly thresholds = new Map<string, Dec>();
  private readonly defaultThreshold: Dec;

  constructor(whaleNotional: number, bySymbol: Readonly<Record<string, number>>) {
    this.defaultThreshold = decimalFromNumber(whaleNotional);
    for (const [symbol, n] of Object.entries(bySymbol)) this.thresholds.set(symbol.toUpperCase(), decimalFromNumber(n));
  }

  detect(t: TradeInput): WhaleRow | undefined {
    // Thresholds are per symbol (config.processor.whaleNotionalBySymbol): a symbol's notional means the same on every market.
    if (compare(t.notional, this.thresholds.get(t.instrument.symbol) ?? this.defaultThreshold) < 0) return undefined;
    return {
      ...t.instrument,
      tradeId: t.id,
      tradeTime: t.time,
      price: formatDecimal(t.price),
      quantity: formatDecimal(t.quantity),
      notional: formatDecimal(t.notional),
      side: t.takerBuy ? 'buy' : 'sell',
    };
  }
}
