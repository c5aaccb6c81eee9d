import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CANDLE_INTERVALS, KLINE_INTERVALS, intervalMs, isKlineInterval } from '../../src/core/intervals.js';
import { INTERVAL_MS } from '../../src/processors/candles.js';

test('intervalMs knows the fixed Binance intervals and refuses others', () => {
  assert.equal(intervalMs('1s'), 1_000);
  assert.equal(intervalMs('1m'), 60_000);
  assert.equal(intervalMs('15m'), 900_000);
  assert.equal(intervalMs('1h'), 3_600_000);
  assert.equal(intervalMs('1w'), 604_800_000);
  assert.throws(() => intervalMs('1M'), /unsupported candle interval 1M/, 'a calendar month has no one length');
  assert.throws(() => intervalMs('7m'), /unsupported candle interval 7m/);
  assert.throws(() => intervalMs('toString'), /unsupported/, 'only own keys of the table');
});

test('every kline interval but the month has a length; the candle intervals are a subset', () => {
  for (const i of KLINE_INTERVALS) if (i !== '1M') assert.ok(intervalMs(i) > 0, i);
  assert.ok(isKlineInterval('1M'));
  assert.ok(!isKlineInterval('2m'));
  assert.deepEqual(Object.keys(INTERVAL_MS), [...CANDLE_INTERVALS], 'the processor table is derived from the one table');
  for (const i of CANDLE_INTERVALS) assert.equal(INTERVAL_MS[i], intervalMs(i));
});
