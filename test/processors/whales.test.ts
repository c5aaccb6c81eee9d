import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processorOptions, runToEnd, trade } from './support.js';

test('whale trades: notional at or above the threshold, with per-symbol overrides', () => {
  const options = processorOptions({ whaleNotional: 100_000, whaleNotionalBySymbol: { ethusdt: 1_000_000 } });
  const rows = runToEnd(options, [
    trade(1, 1_000, '60000.00', '1.66666'), // 99 999.60: below
    trade(2, 2_000, '60000.00', '1.66667', false), // 100 000.20
    trade(3, 3_000, '50000', '2'), // exactly 100 000
    trade(4, 4_000, '3000', '300', true, 'ETHUSDT'), // 900 000 < ETH's 1 000 000
    trade(5, 5_000, '3000', '400', true, 'ETHUSDT'),
  ]).of('whale_trades');
  assert.deepEqual(rows.map((w) => [w.symbol, w.tradeId, w.notional, w.side]).sort(), [
    ['BTCUSDT', 2, '100000.2000000', 'sell'],
    ['BTCUSDT', 3, '100000', 'buy'],
    ['ETHUSDT', 5, '1200000', 'buy'],
  ]);
  assert.equal(rows.find((w) => w.tradeId === 2)?.tradeTime, 2_000);
});
