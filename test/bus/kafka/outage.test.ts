import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../../src/bus/bus.js';
import { KafkaBus } from '../../../src/bus/kafka/index.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { kafkaBusConfig, privateBroker, uniquePrefix } from '../../support/kafka.js';
import { trade, tradeIds } from './helpers.js';
import { waitFor } from '../../support/wait.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('publish during a broker outage waits, retries and completes once the broker is back, losing nothing', async (t) => {
  const broker = await privateBroker(t);
  const config = kafkaBusConfig(uniquePrefix('outage'), { brokers: broker.brokers });
  const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
  t.after(() => bus.close());
  await bus.start();
  await bus.publish(range(1, 10).map((id) => trade(`S${id % 4}USDT`, id)));

  await broker.stop();
  let acked = false;
  const during = bus.publish(range(11, 20).map((id) => trade(`S${id % 4}USDT`, id))).then(() => (acked = true));
  await waitFor('the bus to report it cannot write', () => !bus.writable(), 60_000);
  assert.equal(acked, false, 'not acknowledged while the broker is down');

  await broker.start();
  await during;
  assert.ok(bus.writable());

  const received: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'outage', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => void received.push(...batch),
    },
  );
  t.after(() => consumer.close());
  await waitFor('all 20 trades', () => received.length >= 20);
  assert.deepEqual(tradeIds(received), range(1, 20));
  // Before the private broker goes (t.after runs in registration order).
  await consumer.close();
  await bus.close();
});
