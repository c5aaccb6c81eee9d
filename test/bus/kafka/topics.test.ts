import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { KafkaBus } from '../../../src/bus/kafka/index.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { kafkaBrokers, kafkaBusConfig, uniquePrefix } from '../../support/kafka.js';

function admin(t: import('node:test').TestContext, prefix: string): Admin {
  const client = new Admin({ clientId: 'topics-test', bootstrapBrokers: kafkaBrokers() });
  t.after(async () => {
    const mine = (await client.listTopics()).filter((name) => name.startsWith(prefix));
    if (mine.length > 0) await client.deleteTopics({ topics: mine });
    await client.close();
  });
  return client;
}

test('start creates every topic with the configured partitions and retention, and again is a no-op', async (t) => {
  const prefix = uniquePrefix('topics');
  const config = kafkaBusConfig(prefix);
  const client = admin(t, prefix);
  for (let i = 0; i < 2; i++) {
    const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
    await bus.start();
    await bus.close();
  }
  const names = Object.values(config.topics);
  const metadata = await client.metadata({ topics: names, forceUpdate: true });
  for (const name of names) assert.equal(metadata.topics.get(name)?.partitionsCount, 3, name);
  const described = await client.describeConfigs({
    resources: names.map((resourceName) => ({ resourceType: 2, resourceName, configurationKeys: ['retention.ms'] })),
  });
  assert.equal(described.length, names.length);
  for (const resource of described) {
    assert.equal(resource.configs.find((c) => c.name === 'retention.ms')?.value, String(7 * 24 * 3_600_000), resource.resourceName);
  }
});

test('a topic with fewer partitions than configured fails start with BUS_TOPIC_MISMATCH', async (t) => {
  const prefix = uniquePrefix('mismatch');
  const config = kafkaBusConfig(prefix);
  const client = admin(t, prefix);
  await client.createTopics({ topics: [config.topics.trades], partitions: 1, replicas: 1 });
  const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
  t.after(() => bus.close());
  await assert.rejects(bus.start(), (err: unknown) => {
    assert.ok(err instanceof TickflowError);
    assert.equal(err.code, ErrorCodes.BUS_TOPIC_MISMATCH);
    assert.match(err.message, new RegExp(`${config.topics.trades.replace(/\./g, '\\.')} has 1 partition`));
    return true;
  });
});
