import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../../src/bus/bus.js';
import { instrumentKey, type TradeEvent } from '../../../src/core/events.js';
import { consoleConsume, kafkaBrokers, kafkaTool } from '../../support/kafka.js';
import { startBus, trade } from './helpers.js';
import { waitFor } from '../../support/wait.js';
import { busContract } from '../contract.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT', 'XRPUSDT', 'DOGEUSDT', 'ADAUSDT', 'TRXUSDT', 'LINKUSDT', 'AVAXUSDT'];

test('published events come back in partition order with their key, exact JSON and headers', async (t) => {
  const { bus, config, metrics } = await startBus(t, 'roundtrip');
  const received: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'roundtrip', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => void received.push(...batch),
    },
  );
  t.after(() => consumer.close());
  const events = SYMBOLS.flatMap((symbol, i) => [1, 2, 3].map((n) => trade(symbol, i * 10 + n)));
  await bus.publish(events);
  assert.equal((await metrics.eventsProduced.get()).values.find((v) => v.labels.topic === config.topics.trades)?.value, events.length);

  await waitFor('all deliveries', () => received.length >= events.length);
  assert.equal(received.length, events.length);
  for (const d of received) {
    assert.equal(d.topic, 'trades');
    assert.equal(d.key, instrumentKey(d.event as TradeEvent), 'keyed by exchange:market:symbol');
  }
  assert.deepEqual(
    received.map((d) => d.event).sort((a, b) => (a as { tradeId: number }).tradeId - (b as { tradeId: number }).tradeId),
    events,
  );
  // Within a partition, offsets and per-symbol trade ids both increase.
  for (const symbol of SYMBOLS) {
    const mine = received.filter((d) => d.key === `binance:spot:${symbol}`);
    assert.equal(new Set(mine.map((d) => d.partition)).size, 1, `${symbol} stays on one partition`);
    const ids = mine.map((d) => (d.event as { tradeId: number }).tradeId);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
      `${symbol} in publish order`,
    );
    assert.ok(
      mine.every((d, i) => i === 0 || d.offset > mine[i - 1]!.offset),
      `${symbol} offsets increase`,
    );
  }

  // Kafka's own console consumer sees the documented value and headers.
  const records = await consoleConsume(kafkaBrokers(), config.topics.trades, events.length, 20_000);
  assert.equal(records.length, events.length);
  const seen = records.map(({ headers, key, value }) => {
    assert.equal(headers, `tickflow-type:trade,tickflow-schema:1`);
    const event = JSON.parse(value) as TradeEvent;
    assert.equal(key, `binance:spot:${event.symbol}`);
    return event;
  });
  assert.deepEqual(
    seen.sort((a, b) => a.tradeId - b.tradeId),
    events,
  );
});

test("keys land on the same partitions as with Kafka's console producer (murmur2)", async (t) => {
  const { bus, config } = await startBus(t, 'murmur');
  // Kafka's own producer writes the same keys to the dead-letter topic, which has the same
  // partition count; its console consumer reports where each key landed on both topics.
  await kafkaTool(
    'org.apache.kafka.tools.ConsoleProducer',
    ['--bootstrap-server', kafkaBrokers()[0]!, '--topic', config.topics.deadLetters, '--property', 'parse.key=true', '--property', 'key.separator=|'],
    `${SYMBOLS.map((s) => `binance:spot:${s}|x`).join('\n')}\n`,
  );
  await bus.publish(SYMBOLS.map((s, i) => trade(s, i + 1)));

  const partitionsOf = async (topic: string) => {
    const out = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
      '--bootstrap-server',
      kafkaBrokers()[0]!,
      '--topic',
      topic,
      '--from-beginning',
      '--max-messages',
      String(SYMBOLS.length),
      '--timeout-ms',
      '20000',
      '--property',
      'print.key=true',
      '--property',
      'print.partition=true',
      '--property',
      'print.value=false',
      '--property',
      'key.separator=|',
    ]);
    // Lines look like "Partition:1|binance:spot:BTCUSDT".
    return new Map(
      out
        .trim()
        .split('\n')
        .map((line) => {
          const [partition, key] = line.split('|') as [string, string];
          return [key, Number(partition.replace('Partition:', ''))] as const;
        }),
    );
  };
  const java = await partitionsOf(config.topics.deadLetters);
  const ours = await partitionsOf(config.topics.trades);
  assert.equal(java.size, SYMBOLS.length);
  assert.deepEqual(ours, java);
  assert.ok(new Set(java.values()).size > 1, 'the keys spread over more than one partition');
});

test('publish applies back-pressure: never more than maxBufferedEvents buffered towards the broker', async (t) => {
  // A long linger would put every concurrently published event into one batch; the bound of 50
  // makes each publish wait until the broker acknowledged what is buffered.
  const { bus, metrics } = await startBus(t, 'pressure', { maxBufferedEvents: 50, lingerMs: 200 });
  const calls = Array.from({ length: 8 }, (_, c) => bus.publish(range(c * 50 + 1, c * 50 + 50).map((id) => trade(SYMBOLS[id % SYMBOLS.length]!, id))));
  await Promise.all(calls);
  const batches = (await metrics.kafkaBatchSize.get()).values;
  const count = batches.find((v) => v.metricName?.endsWith('_count'))?.value;
  const atMost50 = batches.find((v) => v.labels.le === 50)?.value;
  assert.equal(count, 8, 'one batch per publish call');
  assert.equal(atMost50, 8, 'no batch above the bound');
});

test('the linger counts from when ingest received the oldest record, not from the publish call', async (t) => {
  // An hour's linger: a record received longer ago than that has waited its linger already (ingest
  // held it while the previous batch was in flight) and goes out at once.
  const { bus } = await startBus(t, 'linger', { lingerMs: 3_600_000 });
  const received = (Date.now() - 3_700_000) * 1000;
  let acked = false;
  const publishing = bus.publish([{ ...trade('BTCUSDT', 1), ingestionTimestamp: received }]).then(() => (acked = true));
  await waitFor('the broker acked the record without waiting for the linger', () => acked);
  await publishing;
});

busContract('kafka', async (t) => (await startBus(t, 'contract')).bus);
