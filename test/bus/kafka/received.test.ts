import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUndecodable, type Received, ReceivedBuffer } from '../../../src/bus/kafka/received.js';
import { trade } from './helpers.js';

const delivery = (partition: number, offset: number): Received => ({
  topic: 'trades',
  partition,
  offset: BigInt(offset),
  key: 'binance:spot:BTCUSDT',
  event: trade('BTCUSDT', offset),
});

test('the buffer is full at its capacity and hands records over front first, in arrival order', () => {
  const buffer = new ReceivedBuffer(3);
  buffer.add(delivery(0, 1), false);
  buffer.add(delivery(1, 1), false);
  assert.equal(buffer.full, false);
  buffer.add(delivery(0, 2), false);
  assert.equal(buffer.full, true);
  // A fetch response is taken whole even past the capacity: the consumer only stops asking for more.
  buffer.add(delivery(0, 3), false);
  assert.equal(buffer.length, 4);
  assert.deepEqual(
    buffer.take(2).map((r) => [r.partition, Number(r.offset)]),
    [
      [0, 1],
      [1, 1],
    ],
  );
  assert.equal(buffer.full, false);
  assert.deepEqual(
    buffer.take(10).map((r) => Number(r.offset)),
    [2, 3],
  );
  assert.equal(buffer.length, 0);
});

test('a rewound partition drops what was buffered from the rewind offset on, and only in that partition', () => {
  const buffer = new ReceivedBuffer(100);
  for (const offset of [5, 6, 7]) buffer.add(delivery(0, offset), false);
  buffer.add(delivery(1, 6), false);
  buffer.add(delivery(0, 6), true);
  assert.deepEqual(
    buffer.take(10).map((r) => `${r.partition}:${r.offset}`),
    ['0:5', '1:6', '0:6'],
  );
});

test('an undecodable record keeps its place and says why', () => {
  const buffer = new ReceivedBuffer(10);
  buffer.add(delivery(0, 1), false);
  buffer.add({ topic: 'trades', partition: 0, offset: 2n, error: new Error('value is not JSON'), raw: '{not json' }, false);
  const [first, second] = buffer.take(2);
  assert.equal(isUndecodable(first!), false);
  assert.equal(isUndecodable(second!), true);
  assert.equal((second as { raw: string }).raw, '{not json');
});

test('clear drops everything', () => {
  const buffer = new ReceivedBuffer(2);
  buffer.add(delivery(0, 1), false);
  buffer.add(delivery(0, 2), false);
  buffer.clear();
  assert.equal(buffer.length, 0);
  assert.equal(buffer.full, false);
});
