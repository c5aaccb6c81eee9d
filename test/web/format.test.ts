import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TickMarkType, type UTCTimestamp } from 'lightweight-charts';
import { bpsDecimals, decimalsOf, fixed, formatTick, stepDecimals } from '../../src/web/client/format.js';

test('fixed prints a decimal string to exactly the decimals asked, never rounding a digit away', () => {
  assert.equal(fixed('61236.27000000', 2), '61236.27');
  assert.equal(fixed('0.00020000', 5), '0.00020');
  assert.equal(fixed('0.00275000', 5), '0.00275');
  assert.equal(fixed('2', 3), '2.000');
  assert.equal(fixed('1.00000000', 0), '1');
  // Off the grid: every significant digit stays.
  assert.equal(fixed('61236.275', 2), '61236.275');
});

test('step decimals come from exchangeInfo sizes, or from the finest value seen', () => {
  assert.equal(decimalsOf('0.01000000'), 2);
  assert.equal(decimalsOf('1.00000000'), 0);
  assert.equal(stepDecimals('0.00001000', ['1.5']), 5);
  assert.equal(stepDecimals(undefined, ['0.0002', '0.00275', '1.5']), 5);
  assert.equal(stepDecimals(undefined, ['61000.00000000'], 2), 2);
});

test('a one-tick spread in bps keeps its digits: BTCUSDT 0.01 at 61 236 is 0.0016, not 0.00', () => {
  const decimals = bpsDecimals(0.01, 61_236.27);
  assert.equal(decimals, 4);
  assert.equal(((0.01 / 61_236.275) * 10_000).toFixed(decimals), '0.0016');
  assert.equal(bpsDecimals(null, 61_236), 2);
  assert.equal(bpsDecimals(0.01, 2.5), 2, 'a wide one-tick spread needs no more than two');
});

test('time-axis labels are UTC: a date at midnight, seconds between minutes', () => {
  const midnight = (Date.UTC(2024, 7, 9) / 1000) as UTCTimestamp;
  assert.equal(formatTick(midnight, TickMarkType.DayOfMonth), 'Aug 9');
  assert.equal(formatTick(midnight, TickMarkType.Month), 'Aug 2024');
  assert.equal(formatTick((midnight + 5 * 3600 + 39 * 60 + 12) as UTCTimestamp, TickMarkType.TimeWithSeconds), '05:39:12');
  assert.equal(formatTick((midnight + 5 * 3600 + 39 * 60) as UTCTimestamp, TickMarkType.Time), '05:39');
});
