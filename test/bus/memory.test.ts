import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { ErrorCodes, TickflowError } from '../../src/core/errors.js';
import { trade as tradeAt } from '../processors/support.js';
import { waitFor } from '../support/wait.js';
import { busContract } from './contract.js';

const trade = (tradeId: number) => tradeAt(tradeId, 1_700_000_000_000 + tradeId, '42000.01', '0.5');

test('a handler failure a retry can fix is redelivered until the handler takes the batch', async (t) => {
  const reports: boolean[] = [];
  const bus = new MemoryBus(100, 10, (_err, retrying) => reports.push(retrying));
  t.after(() => bus.close());
  const taken: Delivery[] = [];
  let failures = 2;
  const consumer = await bus.subscribe(
    { group: 'g', topics: ['trades'] },
    {
      onDeliveries: async (batch) => {
        if (failures-- > 0) throw new TickflowError(ErrorCodes.STORE_UNAVAILABLE, 'database restarting', { canRetry: true });
        taken.push(...batch);
      },
    },
  );
  t.after(() => consumer.close());
  await bus.publish([trade(1), trade(2)]);
  await waitFor('the batch after two retryable failures', () => taken.length === 2);
  assert.deepEqual(reports, [true, true]);
  assert.deepEqual(
    taken.map((d) => d.offset),
    [0n, 1n],
  );
  assert.equal(bus.writable(), true);
});

test('a handler failure retrying cannot fix stops the group: batch kept, bus down, shutdown still ends', async () => {
  const reports: boolean[] = [];
  const bus = new MemoryBus(100, 10, (_err, retrying) => reports.push(retrying));
  let calls = 0;
  const consumer = await bus.subscribe(
    { group: 'g', topics: ['trades'] },
    {
      onDeliveries: async () => {
        calls++;
        throw new TickflowError(ErrorCodes.STORE_WRITE, 'permission denied for table trades', { canRetry: false });
      },
    },
  );
  await bus.publish([trade(1), trade(2)]);
  await waitFor('the bus to report the failed group', () => !bus.writable());
  assert.equal(calls, 1, 'not retried');
  assert.deepEqual(reports, [false]);
  const lag = await consumer.lag();
  assert.equal(lag[0]?.lag, 2, 'nothing committed: both events still ahead of the group');
  // Before: drain waited for a queue that never empties, and shutdown hung.
  await consumer.close();
  await bus.close();
});

busContract('memory', async (t) => {
  const bus = new MemoryBus();
  t.after(() => bus.close());
  return bus;
});

test('lingerMs: events published one at a time reach an idle group as one batch; maxBatch queued are handed over at once', async (t) => {
  // A linger no test waits out: only drain() or a full batch can hand the events over.
  const bus = new MemoryBus(100, 3, () => {}, undefined, 3_600_000);
  t.after(() => bus.close());
  const batches: number[][] = [];
  const consumer = await bus.subscribe(
    { group: 'g', topics: ['trades'] },
    {
      onDeliveries: async (batch) => {
        batches.push(batch.map((d) => Number(d.offset)));
      },
    },
  );
  t.after(() => consumer.close());
  await bus.publish([trade(1)]);
  await bus.publish([trade(2)]);
  assert.deepEqual(batches, [], 'both wait for the linger time');
  await bus.drain();
  assert.deepEqual(batches, [[0, 1]], 'drain hands over what lingers, in one batch');
  await bus.publish([trade(3), trade(4)]);
  await bus.publish([trade(5)]);
  await waitFor('the full batch without drain', () => batches.length === 2);
  assert.deepEqual(batches[1], [2, 3, 4]);
});

busContract('memory (lingerMs 20)', async (t) => {
  const bus = new MemoryBus(50_000, 1_000, () => {}, undefined, 20);
  t.after(() => bus.close());
  return bus;
});
