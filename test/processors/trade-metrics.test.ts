import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processorOptions, runToEnd, trade } from './support.js';

const MIN = 60_000;

test('trade metrics of one window, checked by hand', () => {
  const image = runToEnd(processorOptions({ volatilityRatio: 0.008, priceMovePct: 0.5 }), [
    trade(1, 1_000, '100', '1', true),
    trade(2, 2_000, '102', '2', false),
    trade(3, 3_000, '101', '3', true),
  ]);
  const [m] = image.of('trade_metrics');
  assert.ok(m);
  assert.equal(m.interval, '1m');
  assert.equal(m.tradeCount, 3);
  assert.equal(m.volume, '6');
  assert.equal(m.quoteVolume, '607');
  // 607 / 6 = 101.1666…, twelve digits, rounded half up.
  assert.equal(m.vwap, '101.166666666667');
  assert.equal(m.buyVolume, '4');
  assert.equal(m.sellVolume, '2');
  assert.equal(m.buySellRatio, '2.000000000000');
  assert.equal(m.largestTradeQty, '3');
  assert.equal(m.largestTradeNotional, '303');
  // prices 100, 102, 101: mean 101, population variance (1 + 1 + 0) / 3.
  assert.ok(Math.abs(m.priceStddev - Math.sqrt(2 / 3)) < 1e-12);
  // stddev / vwap = 0.00807 > 0.008; |101/100 − 1| × 100 = 1 % > 0.5 %.
  assert.equal(m.volatilityAlert, true);
  assert.equal(m.priceMove, true);
  assert.equal(m.volumeSpike, false, 'no earlier windows, no baseline');

  const calm = runToEnd(processorOptions({ volatilityRatio: 0.0081, priceMovePct: 1 }), [
    trade(1, 1_000, '100', '1'),
    trade(2, 2_000, '102', '2', false),
    trade(3, 3_000, '101', '3'),
  ]).of('trade_metrics')[0];
  assert.equal(calm?.volatilityAlert, false);
  assert.equal(calm?.priceMove, false, 'exactly 1 % is not more than 1 %');
  assert.equal(calm?.buySellRatio, '2.000000000000');
});

test('volume spike compares with the mean of the previous windows that had trades', () => {
  const options = processorOptions({ volumeSpikeFactor: 3, volumeSpikeLookback: 3 });
  const events = [
    trade(1, 0 * MIN + 1, '10', '1'),
    trade(2, 1 * MIN + 1, '10', '2'),
    // minute 2 has no trades: it does not dilute the baseline
    trade(3, 3 * MIN + 1, '10', '3'),
    // baseline of minute 4 = minutes 1..3 present = (2 + 3) / 2 = 2.5; 7.6 > 7.5
    trade(4, 4 * MIN + 1, '10', '7.6'),
    // baseline of minute 5 = (2 + 3 + 7.6) / 3 = 4.2; 12.6 is not > 12.6
    trade(5, 5 * MIN + 1, '10', '12.6'),
  ];
  const rows = runToEnd(options, events)
    .of('trade_metrics')
    .sort((a, b) => a.windowStart - b.windowStart);
  assert.deepEqual(
    rows.map((r) => [r.windowStart / MIN, r.volume, r.volumeSpike]),
    [
      [0, '1', false],
      [1, '2', false],
      [3, '3', false],
      [4, '7.6', true],
      [5, '12.6', false],
    ],
  );
});
