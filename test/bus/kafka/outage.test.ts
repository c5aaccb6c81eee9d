import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../../src/bus/bus.js';
import { KafkaBus } from '../../../src/bus/kafka/index.js';
import { errorMessage } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { kafkaBusConfig, privateBroker, uniquePrefix } from '../../support/kafka.js';
import { trade, tradeIds } from './helpers.js';
import { waitFor } from '../../support/wait.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** The steady publisher's first trade id, above the ids the test publishes itself. */
const STEADY_FROM = 1_001;

test('publish during a broker outage waits, retries and completes once the broker is back, losing nothing', async (t) => {
  const broker = await privateBroker(t);
  const config = kafkaBusConfig(uniquePrefix('outage'), { brokers: broker.brokers });
  const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
  t.after(() => bus.close());
  await bus.start();
  await bus.publish(range(1, 10).map((id) => trade(`S${id % 4}USDT`, id)));

  // A steady publisher too, as the ingest role is: its batch in flight when the broker stops must be
  // retried like any other (a response cut short by the stopping broker was taken as final once,
  // and the ingest role lost that batch).
  let publishing = true;
  let steadyLast = STEADY_FROM - 1;
  const rejected: string[] = [];
  const steady = (async () => {
    while (publishing) {
      const ids = range(steadyLast + 1, steadyLast + 20);
      await bus.publish(ids.map((id) => trade(`S${id % 4}USDT`, id))).catch((err: unknown) => rejected.push(errorMessage(err)));
      steadyLast = ids.at(-1)!;
    }
  })();
  await waitFor('the steady publisher under way', () => steadyLast >= STEADY_FROM + 100);

  await broker.stop();
  let acked = false;
  const during = bus.publish(range(11, 20).map((id) => trade(`S${id % 4}USDT`, id))).then(() => (acked = true));
  await waitFor('the bus to report it cannot write', () => !bus.writable(), 60_000);
  assert.equal(acked, false, 'not acknowledged while the broker is down');

  await broker.start();
  await during;
  assert.ok(bus.writable());
  const afterRestart = steadyLast;
  await waitFor('the steady publisher acknowledged after the restart', () => steadyLast >= afterRestart + 100, 60_000);
  publishing = false;
  await steady;
  assert.deepEqual(rejected, [], 'no publish failed');

  const received: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'outage', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => void received.push(...batch),
    },
  );
  t.after(() => consumer.close());
  const expected = [...range(1, 20), ...range(STEADY_FROM, steadyLast)];
  await waitFor('every published trade', () => received.length >= expected.length, { progress: () => received.length });
  assert.deepEqual(tradeIds(received), expected);
  // Before the private broker goes (t.after runs in registration order).
  await consumer.close();
  await bus.close();
});
