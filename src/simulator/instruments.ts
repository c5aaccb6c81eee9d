import type { Market } from '../core/events.js';

/**
 * Trading rules of a simulated symbol. Prices are integers of `tickScale` decimals (tick 0.01 →
 * scale 2) and quantities integers of `stepScale` decimals, so every printed value is a valid
 * multiple of the real tick and lot step. Spot prints everything with 8 decimals
 * ("61234.56000000"); USD-M prints the symbol's own precision ("61800.30", "0.014").
 */
export interface Instrument {
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly tickScale: number;
  /** Price ticks per printed tick: USD-M BTCUSDT prints 2 decimals but moves by 0.10. */
  readonly tickSize: number;
  readonly stepScale: number;
  /** Opening price in ticks of 10^-tickScale. */
  readonly startPrice: number;
  /** Median trade size in lot steps. */
  readonly typicalQty: number;
  readonly priceDecimals: number;
  readonly qtyDecimals: number;
  /**
   * The simulator knows this symbol's real trading rules, so exchangeInfo lists it. Any other
   * symbol still trades (on default rules) when asked for, but is not listed — as Binance lists no
   * FOOUSDT — so a client that checks its symbols against exchangeInfo finds it unknown.
   */
  readonly listed: boolean;
}

type Rules = Pick<Instrument, 'tickScale' | 'tickSize' | 'stepScale' | 'startPrice' | 'typicalQty'>;

// Real tick sizes and lot steps (exchangeInfo PRICE_FILTER / LOT_SIZE) and plausible 2024 prices.
const SPOT_RULES: Record<string, Rules> = {
  BTCUSDT: { tickScale: 2, tickSize: 1, stepScale: 5, startPrice: 6_123_456, typicalQty: 200 },
  ETHUSDT: { tickScale: 2, tickSize: 1, stepScale: 4, startPrice: 261_234, typicalQty: 500 },
  BNBUSDT: { tickScale: 2, tickSize: 1, stepScale: 3, startPrice: 52_012, typicalQty: 200 },
  SOLUSDT: { tickScale: 2, tickSize: 1, stepScale: 3, startPrice: 15_045, typicalQty: 1_000 },
  XRPUSDT: { tickScale: 4, tickSize: 1, stepScale: 0, startPrice: 5_312, typicalQty: 200 },
};
const USDM_RULES: Record<string, Rules> = {
  BTCUSDT: { tickScale: 2, tickSize: 10, stepScale: 3, startPrice: 6_123_450, typicalQty: 20 },
  ETHUSDT: { tickScale: 2, tickSize: 1, stepScale: 3, startPrice: 261_234, typicalQty: 200 },
};
const DEFAULT_RULES: Rules = { tickScale: 2, tickSize: 1, stepScale: 3, startPrice: 10_000, typicalQty: 1_000 };
const QUOTE_ASSETS = ['FDUSD', 'USDT', 'USDC', 'TUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY'];

/**
 * The trading rules the simulator uses for `symbol` on `market` (spot or usdm): the real tick and lot
 * scales, opening price and typical size of the symbols it knows (`listed`, so exchangeInfo shows
 * them), default rules for any other; the quote asset is the longest known suffix (USDT, FDUSD, …),
 * else the last three letters. Prices print with 8 decimals on spot and the tick scale on USD-M, as
 * Binance's payloads do.
 */
export function instrumentFor(symbol: string, market: Market): Instrument {
  const upper = symbol.toUpperCase();
  const known = (market === 'usdm' ? USDM_RULES : SPOT_RULES)[upper];
  const rules = known ?? DEFAULT_RULES;
  const quoteAsset = QUOTE_ASSETS.find((q) => upper.endsWith(q) && upper.length > q.length) ?? upper.slice(-3);
  return {
    symbol: upper,
    baseAsset: upper.slice(0, upper.length - quoteAsset.length),
    quoteAsset,
    ...rules,
    priceDecimals: market === 'spot' ? 8 : rules.tickScale,
    qtyDecimals: market === 'spot' ? 8 : rules.stepScale,
    listed: known !== undefined,
  };
}
