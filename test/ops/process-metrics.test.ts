import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { Delivery } from '../../src/bus/bus.js';
import type { TradeEvent } from '../../src/core/events.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { sampleLag } from '../../src/ops/process-metrics.js';

const trade = (tradeId: number): TradeEvent => ({
  type: 'trade',
  exchange: 'binance',
  market: 'spot',
  symbol: 'BTCUSDT',
  eventTime: 1_700_000_000_000 + tradeId,
  ingestionTimestamp: 1_700_000_000_000_000 + tradeId,
  tradeId,
  price: '61234.56000000',
  quantity: '0.00100000',
  tradeTime: 1_700_000_000_000 + tradeId,
  buyerIsMaker: false,
});

async function lagSeries(metrics: ReturnType<typeof createMetrics>) {
  return (await metrics.consumerLag.get()).values.map((v) => ({ ...v.labels, value: v.value }));
}

test('sampleLag puts a consumer group lag into tickflow_consumer_lag_records', async (t) => {
  const bus = new MemoryBus();
  t.after(() => bus.close());
  const received: Delivery[] = [];
  const consumer = await bus.subscribe({ group: 'store', topics: ['trades'] }, { onDeliveries: async (batch) => void received.push(...batch) });
  const metrics = createMetrics();
  const sampler = sampleLag(consumer, 'store', metrics, { intervalMs: 60_000 });
  t.after(() => sampler.stop());

  await bus.publish([1, 2, 3, 4, 5].map(trade));
  await bus.drain();
  await sampler.sampleNow();
  assert.deepEqual(await lagSeries(metrics), [{ group: 'store', topic: 'trades', partition: '0', value: 5 }]);
  assert.equal(sampler.total(), 5);

  await consumer.commit(received.slice(0, 3));
  await sampler.sampleNow();
  assert.equal(sampler.total(), 2);
  assert.match(await metrics.registry.metrics(), /^tickflow_consumer_lag_records\{group="store",topic="trades",partition="0"\} 2$/m);

  sampler.stop();
  assert.deepEqual(await lagSeries(metrics), [], 'a stopped sampler leaves no frozen series');
});

test('partitions no longer owned disappear; failed samples keep the last values', async (t) => {
  let answer: () => Promise<{ topic: 'trades'; partition: number; lag: number }[]> = async () => [
    { topic: 'trades', partition: 0, lag: 10 },
    { topic: 'trades', partition: 1, lag: 20 },
  ];
  const warnings: unknown[] = [];
  const logger = { warn: (obj: unknown) => void warnings.push(obj) } as never;
  const metrics = createMetrics();
  const sampler = sampleLag({ lag: () => answer() }, 'process', metrics, { intervalMs: 60_000, logger });
  t.after(() => sampler.stop());
  await sampler.sampleNow();
  assert.equal((await lagSeries(metrics)).length, 2);

  answer = async () => [{ topic: 'trades', partition: 1, lag: 3 }];
  await sampler.sampleNow();
  assert.deepEqual(await lagSeries(metrics), [{ group: 'process', topic: 'trades', partition: '1', value: 3 }]);

  answer = async () => {
    throw new Error('broker unreachable');
  };
  await sampler.sampleNow();
  assert.equal(sampler.total(), 3);
  assert.deepEqual(warnings, [{ group: 'process', err: 'broker unreachable' }]);
});

test('with a health registry, /health shows the lag and degrades above the threshold', async (t) => {
  let lag = 10;
  let fail = false;
  const health = new HealthRegistry();
  const sampler = sampleLag(
    {
      lag: async () => {
        if (fail) throw new Error('broker unreachable');
        return [{ topic: 'trades', partition: 0, lag }];
      },
    },
    'store',
    createMetrics(),
    { intervalMs: 60_000, health, degradedAboveRecords: 100 },
  );
  t.after(() => sampler.stop());
  await sampler.sampleNow();
  let report = await health.evaluate();
  assert.equal(report.components['lag:store']!.state, 'up');
  assert.equal(report.components['lag:store']!.details!.lagRecords, 10);

  lag = 500;
  await sampler.sampleNow();
  report = await health.evaluate();
  assert.equal(report.components['lag:store']!.state, 'degraded');
  assert.equal(report.components['lag:store']!.reason, '500 records not yet processed (more than 100)');
  assert.equal(report.ready, true, 'lag alone keeps the role ready');

  fail = true;
  await sampler.sampleNow();
  report = await health.evaluate();
  assert.equal(report.components['lag:store']!.reason, 'cannot read consumer lag: broker unreachable');
});
