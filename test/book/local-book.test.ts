import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DepthEvent, Market, PriceLevel } from '../../src/core/events.js';
import { LocalBook } from '../../src/book/local-book.js';
import { OrderBook } from '../../src/book/order-book.js';

function diff(market: Market, U: number, u: number, bids: PriceLevel[] = [], asks: PriceLevel[] = [], pu?: number): DepthEvent {
  const e = {
    type: 'depth' as const,
    exchange: 'binance' as const,
    market,
    symbol: 'BTCUSDT',
    eventTime: 1_723_161_255_208,
    ingestionTimestamp: 0,
    firstUpdateId: U,
    finalUpdateId: u,
    bids,
    asks,
  };
  return pu === undefined ? e : { ...e, prevFinalUpdateId: pu };
}

const SNAPSHOT = {
  lastUpdateId: 100,
  bids: [
    ['61837.63000000', '3.78826000'],
    ['61837.62000000', '0.61700000'],
  ] as PriceLevel[],
  asks: [['61837.64000000', '1.00000000']] as PriceLevel[],
};

test('order book: absolute quantities, zero removes, best levels ordered by price not by text', () => {
  const b = new OrderBook();
  b.reset(
    [
      ['9.5', '1'],
      ['10.25', '2'],
    ],
    [
      ['10.5', '3'],
      ['100.0', '1'],
    ],
  );
  assert.deepEqual(b.bestBid(), { price: '10.25', qty: '2' });
  b.apply(
    [
      ['10.25', '0.000'],
      ['9.75', '4'],
    ],
    [
      ['10.5', '7'],
      ['10.4', '0'],
    ],
  );
  assert.deepEqual(b.bestBid(), { price: '9.75', qty: '4' });
  assert.deepEqual(b.bestAsk(), { price: '10.5', qty: '7' }, 'removing an absent level is normal');
  assert.deepEqual(b.top(5), {
    bids: [
      ['9.75', '4'],
      ['9.5', '1'],
    ],
    asks: [
      ['10.5', '7'],
      ['100.0', '1'],
    ],
  });
  const bounded = new OrderBook(2);
  bounded.reset(
    [
      ['1', '1'],
      ['2', '1'],
      ['3', '1'],
    ],
    [],
  );
  assert.deepEqual(
    bounded.top(5).bids,
    [
      ['3', '1'],
      ['2', '1'],
    ],
    'beyond maxLevels the worst level goes',
  );
});

test('spot book: drops u ≤ lastUpdateId, first event straddles lastUpdateId + 1, then U = previous u + 1', () => {
  const book = new LocalBook({ market: 'spot', symbol: 'BTCUSDT' });
  assert.equal(book.onDiff(diff('spot', 90, 100)), 'buffered');
  assert.equal(book.onDiff(diff('spot', 101, 105, [['61837.63000000', '0.00000000']])), 'buffered');
  assert.equal(book.onSnapshot(SNAPSHOT), 'live');
  assert.equal(book.updateId(), 105);
  assert.deepEqual(book.book.bestBid(), { price: '61837.62000000', qty: '0.61700000' });
  assert.equal(book.onDiff(diff('spot', 104, 105)), 'stale', 'a repeated event is ignored');
  assert.equal(book.onDiff(diff('spot', 106, 110, [], [['61837.64000000', '2.00000000']])), 'applied');
  assert.deepEqual(book.book.bestAsk(), { price: '61837.64000000', qty: '2.00000000' });
  const brk = book.onDiff(diff('spot', 112, 115));
  assert.equal(typeof brk, 'object', 'U ≠ previous u + 1 is a break');
  assert.deepEqual(typeof brk === 'object' ? [brk.kind, brk.afterUpdateId, brk.firstUpdateId] : null, ['sequence', 110, 112]);
  assert.ok(book.needsSnapshot(), 'a break discards the book until a new snapshot');
  assert.equal(book.onDiff(diff('spot', 116, 120)), 'buffered');
  assert.equal(book.onSnapshot({ lastUpdateId: 117, bids: [['1.00000000', '1.00000000']], asks: [] }), 'live');
  assert.equal(book.updateId(), 120);
});

test('spot book: a first event that does not straddle lastUpdateId + 1 is a break; a snapshot older than the stream is fetched again', () => {
  const book = new LocalBook({ market: 'spot', symbol: 'BTCUSDT' });
  book.onDiff(diff('spot', 102, 105));
  assert.equal(book.onSnapshot(SNAPSHOT), 'too_old', 'U = 102 > lastUpdateId + 1 = 101: the snapshot predates the stream');
  assert.ok(book.needsSnapshot());
  assert.equal(book.onSnapshot({ ...SNAPSHOT, lastUpdateId: 103 }), 'live');
  const other = new LocalBook({ market: 'spot', symbol: 'BTCUSDT' });
  other.onSnapshot(SNAPSHOT);
  const brk = other.onDiff(diff('spot', 103, 104));
  assert.ok(typeof brk === 'object' && brk.kind === 'snapshot' && brk.afterUpdateId === 100);
});

test('USD-M book: drops u < lastUpdateId, first event has U ≤ lastUpdateId ≤ u, then pu = previous u', () => {
  const book = new LocalBook({ market: 'usdm', symbol: 'BTCUSDT' });
  assert.equal(book.onDiff(diff('usdm', 80, 99, [], [], 70)), 'buffered');
  assert.equal(book.onDiff(diff('usdm', 100, 130, [['61800.20', '2.909']], [], 99)), 'buffered', 'u = lastUpdateId is not stale on USD-M');
  assert.equal(book.onSnapshot(SNAPSHOT), 'live');
  assert.equal(book.updateId(), 130);
  assert.deepEqual(book.book.bestBid(), { price: '61837.63000000', qty: '3.78826000' });
  // USD-M ids are not contiguous between events: only pu links them.
  assert.equal(book.onDiff(diff('usdm', 140, 150, [], [], 130)), 'applied');
  const brk = book.onDiff(diff('usdm', 160, 170, [], [], 155));
  assert.ok(typeof brk === 'object' && brk.kind === 'sequence' && brk.afterUpdateId === 150 && brk.prevFinalUpdateId === 155);
  assert.ok(book.needsSnapshot());
});

test('book: the buffer while waiting for a snapshot is bounded', () => {
  const book = new LocalBook({ market: 'spot', symbol: 'BTCUSDT', maxBuffered: 3 });
  for (let i = 0; i < 10; i++) book.onDiff(diff('spot', 200 + i, 200 + i));
  assert.equal(book.onSnapshot({ ...SNAPSHOT, lastUpdateId: 206 }), 'live', 'only the last three (207..209) were kept');
  assert.equal(book.updateId(), 209);
});
