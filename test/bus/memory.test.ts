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
