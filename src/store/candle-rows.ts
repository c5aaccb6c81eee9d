import type { KlineEvent } from '../core/events.js';

/**
 * The nine kline values of a row of the `candles` table as a SELECT list: the decimals as the
 * NUMERIC's exact text (never through a float), the trade count as stored.
 */
export const KLINE_VALUE_COLUMNS =
  'open::text, high::text, low::text, close::text, volume::text, quote_volume::text, taker_buy_volume::text, taker_buy_quote_volume::text, trade_count';

/** A stored candle's nine kline values, named and typed as a kline event's: exact decimal strings, `tradeCount` a number. */
export type KlineValues = Pick<
  KlineEvent,
  'open' | 'high' | 'low' | 'close' | 'volume' | 'quoteVolume' | 'takerBuyVolume' | 'takerBuyQuoteVolume' | 'tradeCount'
>;

/**
 * The kline values of a `candles` row selected with KLINE_VALUE_COLUMNS — the one mapping of
 * those columns, for the API's candles and for `tickflow verify`'s comparison with Binance's klines.
 */
export function klineValues(row: Readonly<Record<string, unknown>>): KlineValues {
  return {
    open: String(row.open),
    high: String(row.high),
    low: String(row.low),
    close: String(row.close),
    volume: String(row.volume),
    quoteVolume: String(row.quote_volume),
    takerBuyVolume: String(row.taker_buy_volume),
    takerBuyQuoteVolume: String(row.taker_buy_quote_volume),
    tradeCount: Number(row.trade_count),
  };
}
