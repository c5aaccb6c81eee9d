import assert from 'node:assert/strict';
import { test } from 'node:test';
import { klineCloseTime, klineOpenTime } from '../../src/core/intervals.js';
import { buildKlines } from '../../src/simulator/klines.js';

const at = (iso: string) => Date.parse(iso);

test('interval boundaries: weeks start on Monday, months on the 1st, all in UTC', () => {
  assert.equal(klineOpenTime('1m', at('2024-08-08T23:54:59.999Z')), at('2024-08-08T23:54:00Z'));
  assert.equal(klineOpenTime('4h', at('2024-08-08T23:54:00Z')), at('2024-08-08T20:00:00Z'));
  assert.equal(klineOpenTime('1w', at('2024-08-08T23:54:00Z')), at('2024-08-05T00:00:00Z'), 'Monday');
  assert.equal(klineOpenTime('1M', at('2024-02-29T12:00:00Z')), at('2024-02-01T00:00:00Z'));
  assert.equal(klineCloseTime('1M', at('2024-02-01T00:00:00Z')), at('2024-03-01T00:00:00Z') - 1);
  assert.equal(klineCloseTime('1m', at('2024-08-08T23:54:00Z')), at('2024-08-08T23:54:59.999Z'));
});

test('candles from trades are exact and empty intervals carry the previous close', () => {
  const t0 = at('2024-08-08T23:54:00Z');
  const trades = [
    { id: 1, price: '61000.10000000', qty: '0.10000000', time: t0 + 1_000, buyerIsMaker: false },
    { id: 2, price: '61000.30000000', qty: '0.20000000', time: t0 + 2_000, buyerIsMaker: true },
    { id: 3, price: '60999.90000000', qty: '0.30000000', time: t0 + 3_000, buyerIsMaker: false },
    { id: 4, price: '61001.00000000', qty: '0.00001000', time: t0 + 120_500, buyerIsMaker: false },
  ];
  const d = { price: 8, qty: 8, quote: 8 };
  const rows = buildKlines('1m', trades).map((k) => k.restRow(d));
  assert.deepEqual(rows, [
    [
      t0,
      '61000.10000000',
      '61000.30000000',
      '60999.90000000',
      '60999.90000000',
      '0.60000000',
      t0 + 59_999,
      '36600.04000000',
      3,
      '0.40000000',
      '24399.98000000',
      '0',
    ],
    [
      t0 + 60_000,
      '60999.90000000',
      '60999.90000000',
      '60999.90000000',
      '60999.90000000',
      '0.00000000',
      t0 + 119_999,
      '0.00000000',
      0,
      '0.00000000',
      '0.00000000',
      '0',
    ],
    [
      t0 + 120_000,
      '61001.00000000',
      '61001.00000000',
      '61001.00000000',
      '61001.00000000',
      '0.00001000',
      t0 + 179_999,
      '0.61001000',
      1,
      '0.00001000',
      '0.61001000',
      '0',
    ],
  ]);
});

test('one bad event never causes unbounded work: a trade at time 0 before today fills only the empty candles a request can return', () => {
  const today = at('2024-08-08T23:54:00Z');
  const trades = [
    { id: 1, price: '1.00000000', qty: '1.00000000', time: 0, buyerIsMaker: false },
    { id: 2, price: '2.00000000', qty: '1.00000000', time: today + 1_000, buyerIsMaker: false },
  ];
  const opens = (keep: 'first' | 'last') => buildKlines('1m', trades, { from: 0, to: Number.MAX_SAFE_INTEGER, max: 3, keep }).map((k) => k.openTime);
  // Not 28 million minutes: three per stretch without trades, the ones a limit=3 request can return.
  assert.deepEqual(opens('last'), [0, today - 180_000, today - 120_000, today - 60_000, today]);
  assert.deepEqual(opens('first'), [0, 60_000, 120_000, 180_000, today]);
});
