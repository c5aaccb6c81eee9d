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

/** config.processor's whale settings: a default notional (quote currency) and per-symbol overrides. */
export interface WhaleSettings {
  readonly whaleNotional: number;
  readonly whaleNotionalBySymbol: Readonly<Record<string, number>>;
}

/**
 * The one home of the whale rule: a trade is a whale when price × quantity reaches its symbol's
 * threshold (per-symbol override, else the default). Thresholds are per symbol: a symbol's notional
 * means the same on every market. The processor, the live tape and /api/trades all ask this.
 */
export class WhaleDetector {
  private readonly thresholds = new Map<string, Dec>();
  private readonly defaultThreshold: Dec;

  constructor(settings: WhaleSettings) {
    this.defaultThreshold = decimalFromNumber(settings.whaleNotional);
    for (const [symbol, n] of Object.entries(settings.whaleNotionalBySymbol)) this.thresholds.set(symbol.toUpperCase(), decimalFromNumber(n));
  }

  /** The symbol's threshold in quote currency. */
  threshold(symbol: string): Dec {
    return this.thresholds.get(symbol.toUpperCase()) ?? this.defaultThreshold;
  }

  /** Whether a notional (quote currency) reaches the symbol's threshold. */
  isWhale(symbol: string, notional: Dec): boolean {
    return compare(notional, this.threshold(symbol)) >= 0;
  }

  detect(t: TradeInput): WhaleRow | undefined {
    if (!this.isWhale(t.instrument.symbol, t.notional)) return undefined;
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
