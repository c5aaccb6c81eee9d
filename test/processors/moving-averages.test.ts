import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDecimal, parseDecimal } from '../../src/core/decimal.js';
import { emaNext, sma } from '../../src/processors/moving-averages.js';
import { processorOptions, runToEnd, trade } from './support.js';

const MIN = 60_000;

test('sma and ema by hand', () => {
  const closes = ['1', '2', '3'].map(parseDecimal);
  assert.equal(sma(closes, 4), null);
  assert.equal(formatDecimal(sma(closes, 2) ?? parseDecimal('0')), '2.500000000000');
  let ema = emaNext(null, parseDecimal('1'), 3);
  assert.equal(formatDecimal(ema), '1.000000000000');
  ema = emaNext(ema, parseDecimal('2'), 3); // (2·2 + 2·1) / 4
  assert.equal(formatDecimal(ema), '1.500000000000');
  ema = emaNext(ema, parseDecimal('3'), 3); // (2·3 + 2·1.5) / 4
  assert.equal(formatDecimal(ema), '2.250000000000');
});

test('candles carry SMA/EMA of closes; an empty minute repeats the previous close and counts', () => {
  const image = runToEnd(processorOptions({ candleIntervals: ['1m'], smaLengths: [2, 3], emaLengths: [3] }), [
    trade(1, 0 * MIN + 5, '1', '1'),
    trade(2, 1 * MIN + 5, '2', '1'),
    // minute 2: no trades → close 2
    trade(3, 3 * MIN + 5, '4', '1'),
  ]);
  const candles = image.of('candles').sort((a, b) => a.windowStart - b.windowStart);
  assert.deepEqual(
    candles.map((c) => [c.close, c.tradeCount, c.firstTradeId]),
    [
      ['1', 1, 1],
      ['2', 1, 2],
      ['2', 0, -1],
      ['4', 1, 3],
    ],
  );
  assert.deepEqual(
    candles.map((c) => c.indicators),
    [
      { sma2: null, sma3: null, ema3: '1.000000000000' },
      { sma2: '1.500000000000', sma3: null, ema3: '1.500000000000' },
      { sma2: '2.000000000000', sma3: '1.666666666667', ema3: '1.750000000000' },
      { sma2: '3.000000000000', sma3: '2.666666666667', ema3: '2.875000000000' },
    ],
  );
  const empty = candles[2];
  assert.deepEqual([empty?.open, empty?.high, empty?.low, empty?.volume, empty?.vwap], ['2', '2', '2', '0', null]);
});
