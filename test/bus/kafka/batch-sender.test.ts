import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { Producer } from '@platformatic/kafka';
import type { Delivery } from '../../../src/bus/bus.js';
import { BatchSender } from '../../../src/bus/kafka/batch-sender.js';
import { RecordEncoder } from '../../../src/bus/kafka/codec.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import type { TradeEvent } from '../../../src/core/events.js';
import { kafkaBrokers } from '../../support/kafka.js';
import { waitFor } from '../../support/wait.js';
import { startBus, trade } from './helpers.js';

/**
 * A bus on topics of its own, a producer of the test's own for BatchSenders, `records(from, to)`:
 * BTCUSDT trades with those ids encoded for its trades topic, and `readBack(n)`: the trade ids of
 * the first `n` records a consumer group of the test reads from the beginning.
 */
async function senderBus(t: TestContext, name: string) {
  const { bus, config } = await startBus(t, name);
  const producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ clientId: `${name}-test`, bootstrapBrokers: kafkaBrokers(), autocreateTopics: false });
  t.after(() => producer.close());
  const encoder = new RecordEncoder();
  const records = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => encoder.encode(trade('BTCUSDT', from + i), undefined, config.topics.trades));
  const readBack = async (n: number) => {
    const got: Delivery[] = [];
    const consumer = await bus.subscribe({ group: name, topics: ['trades'], fromBeginning: true }, { onDeliveries: async (batch) => void got.push(...batch) });
    t.after(() => consumer.close());
    await waitFor(`${n} deliveries`, () => got.length >= n, { progress: () => got.length });
    return got.map((d) => (d.event as TradeEvent).tradeId);
  };
  return { bus, producer, records, readBack };
}

test('a partition whose producer sequence the broker refuses gets a new producer id and its batch is written, not dropped or retried forever', async (t) => {
  const { bus, producer, records, readBack } = await senderBus(t, 'sequence');

  // The bus's own publisher retries until the new topic's partition has a leader.
  await bus.publish([trade('BTCUSDT', 0)]);
  // Two senders on one producer id: the second starts the partition at sequence 0 where the broker
  // expects 10 — what the broker says when it lost or expired this producer's state there.
  await new BatchSender(producer, { compression: 'lz4', timeoutMs: 5_000 }).delivery(records(1, 10)).attempt();
  const firstId = producer.producerId;
  const delivery = new BatchSender(producer, { compression: 'lz4', timeoutMs: 5_000 }).delivery(records(11, 13));
  await assert.rejects(
    delivery.attempt(),
    (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.BUS_UNAVAILABLE && err.canRetry && /lost the producer sequence/.test(err.message),
  );
  assert.notEqual(producer.producerId, firstId, 'a new producer id');
  await delivery.attempt();

  assert.deepEqual(
    await readBack(14),
    Array.from({ length: 14 }, (_, i) => i),
    'every record once, in order',
  );
});

test('a delivery given up after the broker wrote it unacknowledged makes the next send take a new producer id, so a batch of as many records is not dropped as its duplicate', async (t) => {
  const { bus, producer, records, readBack } = await senderBus(t, 'abandon');
  await bus.publish([trade('BTCUSDT', 0)]);

  const sender = new BatchSender(producer, { compression: 'lz4', timeoutMs: 5_000 });
  await sender.delivery(records(1, 3)).attempt();
  // The broker writes 4–6 but its answer is lost: the sender never sees the acknowledgement, and
  // the publisher gives the delivery up.
  const unacknowledged = sender as unknown as { acknowledge: (...args: unknown[]) => void };
  const acknowledge = unacknowledged.acknowledge;
  unacknowledged.acknowledge = () => {};
  const lost = sender.delivery(records(4, 6));
  await lost.attempt();
  unacknowledged.acknowledge = acknowledge;
  lost.abandon();
  const firstId = producer.producerId;
  // As many records as the lost batch: with its sequence again the broker would answer "duplicate".
  await sender.delivery(records(7, 9)).attempt();
  assert.notEqual(producer.producerId, firstId, 'a new producer id');

  assert.deepEqual(
    await readBack(10),
    Array.from({ length: 10 }, (_, i) => i),
    'every record once, in order',
  );
});
