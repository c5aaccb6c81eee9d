import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveMessage } from '../../src/api/live-messages.js';
import { createLiveFeed } from '../../src/api/live.js';
import { publishProcessorOutputs } from '../../src/api/processor-outputs.js';
import { candleRow, spot, spreadMetricsRow, tradeMetricsRow } from './helpers.js';

const T0 = Date.parse('2024-08-09T00:00:00Z');

test('processor rows reach stream clients as candles, metrics and (final windows only) anomalies', () => {
  const live = createLiveFeed({ intervals: ['1m'], whaleNotional: 100_000 });
  const sub = live.subscribe({ instruments: [spot('BTCUSDT')] });
  publishProcessorOutputs(live, [
    { table: 'candles', row: candleRow('BTCUSDT', '1m', T0, { isFinal: false, indicators: { sma20: '100.1' } }) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', T0, { volatilityAlert: true, isFinal: false }) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', T0 - 60_000, { volatilityAlert: true, priceStddev: 0.5, vwap: '100' }) },
    { table: 'spread_metrics', row: spreadMetricsRow('BTCUSDT', T0, { spreadWarning: true, avgSpreadBps: 12 }) },
    { table: 'whale_trades', row: { ...spot('BTCUSDT'), tradeId: 1, tradeTime: T0, price: '1', quantity: '1', notional: '1', side: 'buy' } },
  ]);
  const ms = sub.take();
  const candle = ms.find((m) => m.type === 'candle');
  assert.deepEqual(candle && [candle.source, candle.final, candle.averages, candle.vwap], ['processor', false, { sma20: '100.1' }, '101.00000000']);
  const metrics = ms.filter((m): m is Extract<LiveMessage, { type: 'metric' }> => m.type === 'metric');
  assert.deepEqual(metrics.map((m) => m.kind).sort(), ['spread', 'trades']);
  const anomalies = ms.filter((m): m is Extract<LiveMessage, { type: 'anomaly' }> => m.type === 'anomaly');
  assert.deepEqual(anomalies.map((a) => [a.kind, a.time, a.message]), [
    ['volatility', T0 - 60_000, 'price stddev 0.500000 (0.500% of VWAP) in 1m'],
    ['spreadWarning', T0, 'average spread 12.00 bps in 30s'],
  ]);
});
