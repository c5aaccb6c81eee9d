import type { TradeEvent } from '../../src/core/events.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT', 'DOGEUSDT', 'ADAUSDT', 'TRXUSDT'];

/**
 * The `i`-th trade of a synthetic feed over eight spot symbols (round robin), for the produce and
 * sink benchmarks: ids from 5,400,000,000 on, event time ms from 1,763,700,000,000 on, ingestion
 * timestamp µs, prices and quantities as 8-decimal strings as Binance sends them.
 */
export function syntheticTrade(i: number): TradeEvent {
  const t = 1_763_700_000_000 + i;
  return {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: SYMBOLS[i % SYMBOLS.length]!,
    eventTime: t,
    ingestionTimestamp: t * 1000 + 350,
    tradeId: 5_400_000_000 + i,
    price: (60_000 + (i % 5_000) / 100).toFixed(8),
    quantity: ((i % 997) / 10_000 + 0.0001).toFixed(8),
    tradeTime: t - 1,
    buyerIsMaker: i % 3 === 0,
  };
}
