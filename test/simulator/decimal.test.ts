import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatUnits, parseUnits } from '../../src/simulator/decimal.js';

test('formats scaled integers with Binance’s fixed decimals', () => {
  assert.equal(formatUnits(6_123_456n, 2, 8), '61234.56000000');
  assert.equal(formatUnits(170n, 5, 8), '0.00170000');
  assert.equal(formatUnits(5_312n, 4, 8), '0.53120000');
  assert.equal(formatUnits(61_800_30n, 2, 2), '61800.30');
  assert.equal(formatUnits(14n, 3, 3), '0.014');
  assert.equal(formatUnits(7n, 0, 8), '7.00000000');
  assert.equal(formatUnits(123_456_789n, 16, 8), '0.00000001', 'extra decimals are cut');
  assert.equal(formatUnits(-5n, 2, 2), '-0.05');
});

test('parses decimal strings exactly', () => {
  assert.equal(parseUnits('61234.56000000', 8), 6_123_456_000_000n);
  assert.equal(parseUnits('0.014', 8), 1_400_000n);
  assert.equal(parseUnits('7', 2), 700n);
  assert.equal(parseUnits('-0.5', 1), -5n);
  for (const s of ['61234.56000000', '0.00001000', '2612.34000000']) assert.equal(formatUnits(parseUnits(s, 8), 8, 8), s);
});
