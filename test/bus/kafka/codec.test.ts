import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEvent, encodeEvent } from '../../../src/bus/kafka/index.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import type { BookSnapshotEvent, DepthEvent } from '../../../src/core/events.js';
import { trade } from './helpers.js';

test('an event survives encode and decode unchanged, decimals as strings', () => {
  const depth: DepthEvent = {
    type: 'depth',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1,
    ingestionTimestamp: 2,
    firstUpdateId: 10,
    finalUpdateId: 12,
    prevFinalUpdateId: 9,
    bids: [['61234.50', '0.001']],
    asks: [],
  };
  // The local order book's top levels travel to the store role like the exchange's records (docs/book.md).
  const book: BookSnapshotEvent = { type: 'bookSnapshot', exchange: 'binance', market: 'spot', symbol: 'BTCUSDT', updateId: 5, depth: 20, bids: [['1.10', '2']], asks: [['1.20', '3']], takenAt: 3 };
  for (const event of [trade('ETHUSDT', 7), depth, book]) {
    const value = encodeEvent(event);
    assert.equal(value.toString('utf8'), JSON.stringify(event));
    assert.deepEqual(decodeEvent(value, event.type), event);
  }
});

test('values that are not tickflow events are refused with TF_DECODE', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['{not json', undefined],
    ['[1,2]', undefined],
    ['{"type":"trade","exchange":"binance"}', 'trade'],
    ['{"type":"order","symbol":"BTCUSDT","exchange":"binance"}', undefined],
    [JSON.stringify(trade('BTCUSDT', 1)), 'bookTicker'],
  ];
  for (const [value, header] of cases) {
    assert.throws(
      () => decodeEvent(value === undefined ? undefined : Buffer.from(value), header),
      (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE,
      String(value),
    );
  }
});
