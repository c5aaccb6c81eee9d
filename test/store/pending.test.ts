import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../src/bus/bus.js';
import { PendingDeliveries } from '../../src/store/pending.js';

const delivery = (offset: number): Delivery => ({
  topic: 'trades',
  partition: 0,
  offset: BigInt(offset),
  key: 'binance:spot:BTCUSDT',
  event: {} as Delivery['event'],
});
const offsets = (ds: readonly Delivery[]) => ds.map((d) => Number(d.offset));

test('a batch takes everything waiting; what arrives meanwhile waits for the next one', () => {
  const p = new PendingDeliveries();
  assert.deepEqual(p.take(), [], 'nothing waiting: an empty batch');
  p.add([delivery(0), delivery(1)], 1_000);
  const batch = p.take();
  assert.deepEqual(offsets(batch), [0, 1]);
  p.add([delivery(2)], 1_500);
  assert.equal(p.waiting, 1);
  assert.equal(p.total, 3, 'the batch in flight still counts until it is written');
  p.written();
  assert.equal(p.total, 1);
  assert.deepEqual(offsets(p.take()), [2]);
});

test('a batch that was not written goes back in front, keeping delivery order and its age', () => {
  const p = new PendingDeliveries();
  p.add([delivery(0), delivery(1)], 1_000);
  const batch = p.take();
  p.add([delivery(2)], 4_000);
  assert.equal(p.oldestAgeMs(5_000), 4_000, 'the batch in flight is the oldest');
  p.putBack(batch);
  assert.equal(p.total, 3);
  assert.equal(p.oldestAgeMs(5_000), 4_000, 'its age is kept');
  assert.deepEqual(offsets(p.take()), [0, 1, 2]);
});

test('the oldest age is 0 when nothing waits and counts from the first delivery of a batch', () => {
  const p = new PendingDeliveries();
  assert.equal(p.oldestAgeMs(9_000), 0);
  p.add([delivery(0)], 1_000);
  p.add([delivery(1)], 2_000);
  assert.equal(p.oldestAgeMs(3_000), 2_000);
  p.take();
  p.written();
  assert.equal(p.oldestAgeMs(3_000), 0);
});
