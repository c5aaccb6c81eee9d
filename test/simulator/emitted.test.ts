import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addRange, EmittedTracker } from '../../src/simulator/emitted.js';

test('ranges merge in and out of order and count each id once', () => {
  const ranges: [number, number][] = [];
  assert.equal(addRange(ranges, 5, 5), 1);
  assert.equal(addRange(ranges, 6, 8), 3);
  assert.equal(addRange(ranges, 8, 8), 0, 'a duplicate adds nothing');
  assert.equal(addRange(ranges, 12, 12), 1);
  assert.equal(addRange(ranges, 10, 10), 1, 'out of order');
  assert.deepEqual(ranges, [
    [5, 8],
    [10, 10],
    [12, 12],
  ]);
  assert.equal(addRange(ranges, 9, 11), 2, 'fills the holes (9 and 11)');
  assert.deepEqual(ranges, [[5, 12]]);
});

test('contiguous streams report ranges; bookTicker and klines only counts; frames count deliveries (a depth frame is one)', () => {
  const tracker = new EmittedTracker();
  for (const id of [1, 2, 3, 5]) tracker.record('btcusdt@trade', id);
  tracker.record('btcusdt@depth@100ms', 10, 20);
  tracker.record('btcusdt@depth@100ms', 21, 25);
  tracker.record('btcusdt@bookTicker', 100);
  tracker.record('btcusdt@bookTicker', 107);
  assert.deepEqual(tracker.report(), {
    'btcusdt@trade': {
      count: 4,
      frames: 4,
      firstId: 1,
      lastId: 5,
      ranges: [
        [1, 3],
        [5, 5],
      ],
    },
    'btcusdt@depth@100ms': { count: 16, frames: 2, firstId: 10, lastId: 25, ranges: [[10, 25]] },
    'btcusdt@bookTicker': { count: 2, frames: 2, firstId: 100, lastId: 107, ranges: [] },
  });
});
