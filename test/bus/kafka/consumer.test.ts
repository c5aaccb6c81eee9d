import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { murmur2, Producer } from '@platformatic/kafka';
import { type BusConsumer, busKey, type Delivery } from '../../../src/bus/bus.js';
import { KafkaGroupConsumer } from '../../../src/bus/kafka/consumer.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import type { DeadLetterEvent, TradeEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { kafkaBrokers, kafkaTool } from '../../support/kafka.js';
import { startBus, trade, tradeIds } from './helpers.js';
import { waitFor } from '../../support/wait.js';

/** Twenty keys, so that every one of the three partitions gets some. */
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `C${i}USDT`);
/** The partition of `key` among the three of the test topics: Java's DefaultPartitioner (murmur2, sign bit masked). */
const partitionOf = (key: string) => (murmur2(Buffer.from(key)) & 0x7fffffff) % 3;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a restarted consumer resumes from the committed offsets: nothing lost, only uncommitted repeated', async (t) => {
  const { bus, newBus } = await startBus(t, 'commit');
  await bus.publish(range(1, 60).map((id) => trade(SYMBOLS[id % SYMBOLS.length]!, id)));

  const first: Delivery[] = [];
  let consumer: BusConsumer = await bus.subscribe(
    { group: 'writer', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => void first.push(...batch),
    },
  );
  await waitFor('first 60 deliveries', () => first.length === 60);
  // Commit all but the last delivery of each partition: those two-or-so must come again.
  const uncommitted = new Map<number, Delivery>();
  for (const d of first) if ((uncommitted.get(d.partition)?.offset ?? -1n) < d.offset) uncommitted.set(d.partition, d);
  const lastOnes = new Set(uncommitted.values());
  await consumer.commit(first.filter((d) => !lastOnes.has(d)));
  await consumer.close();

  await bus.publish(range(61, 90).map((id) => trade(SYMBOLS[id % SYMBOLS.length]!, id)));
  const second: Delivery[] = [];
  const restarted = await newBus();
  consumer = await restarted.subscribe(
    { group: 'writer', topics: ['trades'] },
    {
      onDeliveries: async (batch) => void second.push(...batch),
    },
  );
  t.after(() => consumer.close());
  const expected = [...[...lastOnes].map((d) => (d.event as { tradeId: number }).tradeId), ...range(61, 90)].sort((a, b) => a - b);
  await waitFor('redelivery after restart', () => second.length >= expected.length);
  assert.deepEqual(tradeIds(second), expected);
  await consumer.commit(second);
  const lag = await consumer.lag();
  assert.equal(lag.length, 3);
  assert.ok(
    lag.every((l) => l.topic === 'trades' && l.lag === 0),
    JSON.stringify(lag),
  );
});

test('two members of a group split the partitions, and a leaving member hands its partitions over', async (t) => {
  const { bus, newBus } = await startBus(t, 'group');
  const seen = { a: [] as Delivery[], b: [] as Delivery[] };
  const owned = { a: new Set<number>(), b: new Set<number>() };
  const revoked: number[][] = [];
  let a: BusConsumer | undefined;
  const member = (name: 'a' | 'b', commit: () => BusConsumer | undefined) => ({
    onDeliveries: async (batch: readonly Delivery[]) => {
      seen[name].push(...batch);
      await commit()?.commit(batch);
    },
    onAssign: async (ps: readonly { partition: number }[]) => {
      for (const p of ps) owned[name].add(p.partition);
    },
    onRevoke: async (ps: readonly { partition: number }[]) => {
      if (name === 'a') revoked.push(ps.map((p) => p.partition));
      for (const p of ps) owned[name].delete(p.partition);
    },
  });
  a = await bus.subscribe(
    { group: 'split', topics: ['trades'], fromBeginning: true },
    member('a', () => a),
  );
  await waitFor('a owns all three partitions', () => owned.a.size === 3);
  const busB = await newBus();
  let b: BusConsumer | undefined;
  b = await busB.subscribe(
    { group: 'split', topics: ['trades'], fromBeginning: true },
    member('b', () => b),
  );
  t.after(() => b?.close());
  await waitFor('a and b share the partitions', () => owned.a.size + owned.b.size === 3 && owned.a.size > 0 && owned.b.size > 0);
  assert.deepEqual(new Set([...owned.a, ...owned.b]), new Set([0, 1, 2]));

  await bus.publish(range(1, 60).map((id) => trade(SYMBOLS[id % SYMBOLS.length]!, id)));
  await waitFor('both members consume', () => seen.a.length + seen.b.length >= 60);
  assert.ok(seen.a.every((d) => owned.a.has(d.partition)) && seen.b.every((d) => owned.b.has(d.partition)));
  assert.ok(seen.a.length > 0 && seen.b.length > 0, `both members received records: a=${seen.a.length} [${[...owned.a]}] b=${seen.b.length} [${[...owned.b]}]`);

  const revokesBefore = revoked.length;
  await a.close();
  assert.ok(revoked.length > revokesBefore, 'a was told before its partitions went');
  await waitFor('b takes over every partition', () => owned.b.size === 3);
  await bus.publish(range(61, 90).map((id) => trade(SYMBOLS[id % SYMBOLS.length]!, id)));
  await waitFor('all 90 trades consumed', () => new Set(tradeIds([...seen.a, ...seen.b])).size === 90);
  // Everything was committed as it was handled, so the hand-over repeats nothing.
  assert.deepEqual(tradeIds([...seen.a, ...seen.b]), range(1, 90));
});

test('an undecodable record goes to the dead-letter topic and the consumer commits past it, between records and at the end of a partition', async (t) => {
  const { bus, config, metrics } = await startBus(t, 'dlq');
  const good = [trade('BTCUSDT', 1), trade('BTCUSDT', 2)];
  await bus.publish([good[0]!]);
  // A foreign producer writes garbage under the trades' own key, so between the two trades of
  // their partition (committed past by the handler's next commit), and under the bare symbol, which
  // lands alone at the end of another partition (committed past by the consumer once idle).
  const tradesKey = busKey(good[0]!);
  assert.notEqual(partitionOf(tradesKey), partitionOf('BTCUSDT'), 'the two garbage records must land on different partitions');
  await kafkaTool(
    'org.apache.kafka.tools.ConsoleProducer',
    ['--bootstrap-server', kafkaBrokers()[0]!, '--topic', config.topics.trades, '--property', 'parse.key=true', '--property', 'key.separator=|'],
    `${tradesKey}|{not json\nBTCUSDT|[1,2\n`,
  );
  await bus.publish([good[1]!]);

  const trades: Delivery[] = [];
  const letters: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'dlq', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => {
        await consumer.commit(batch);
        trades.push(...batch);
      },
    },
  );
  const dlq = await bus.subscribe(
    { group: 'dlq-reader', topics: ['deadLetters'], fromBeginning: true },
    {
      onDeliveries: async (batch) => void letters.push(...batch),
    },
  );
  t.after(() => dlq.close());
  await waitFor('both trades and two dead letters', () => trades.length === 2 && letters.length === 2);
  assert.deepEqual(tradeIds(trades), [1, 2]);
  const byRaw = new Map(letters.map((l) => [(l.event as DeadLetterEvent).raw, l.event as DeadLetterEvent]));
  assert.deepEqual([...byRaw.keys()].sort(), ['[1,2', '{not json']);
  for (const letter of byRaw.values()) {
    assert.equal(letter.type, 'deadLetter');
    assert.equal(letter.origin, `kafka:${config.topics.trades}`);
    assert.equal(letter.reason, 'undecodable_record');
  }
  assert.match(byRaw.get('{not json')!.detail, /not JSON/);
  // The dead-letter reader may fetch a letter before the consumer has the broker's ack for it and
  // counts it, and the commit past the idle partition's garbage follows the hand-over: both are
  // awaited, and wrong values still fail.
  const counted = async () => (await metrics.deadLetters.get()).values.find((v) => v.labels.reason === 'undecodable_record')?.value;
  await waitFor('both dead letters counted', async () => ((await counted()) ?? 0) >= 2);
  assert.equal(await counted(), 2);
  await waitFor('committed past every record: lag 0 on the three partitions', async () => {
    const lag = await consumer.lag();
    return lag.length === 3 && lag.every((l) => l.lag === 0);
  });
  await consumer.close();
});

test('behind a busy handler the consumer stops fetching with the backlog decoded, no message objects held, and delivers it all in order', async (t) => {
  const { bus } = await startBus(t, 'bounded');
  const total = 30_000;
  for (let from = 1; from <= total; from += 5_000) await bus.publish(range(from, from + 4_999).map((id) => trade('BTCUSDT', id)));

  let release!: () => void;
  const busy = new Promise<void>((resolve) => (release = resolve));
  const seen: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'bounded', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => {
        seen.push(...batch);
        await busy;
      },
    },
  );
  try {
    assert.ok(consumer instanceof KafkaGroupConsumer);
    await waitFor('fetching paused behind the busy handler', () => consumer.held().paused);
    const held = consumer.held();
    // What a fetch response brought past the pause is decoded, not left as the client's messages.
    assert.equal(held.messages, 0);
    assert.ok(held.decoded >= 4_000, `decoded ${held.decoded}: the buffer pauses at 4 deliveries of 1,000`);
    assert.ok(seen.length + held.decoded < total, `the whole backlog (${seen.length} + ${held.decoded}) was fetched while the handler was busy`);
  } finally {
    // A handler still waiting would hold the consumer's close at the end of the test.
    release();
  }
  await waitFor('every record delivered', () => seen.length >= total);
  // One partition (one key): delivered exactly once, in offset order.
  assert.deepEqual(
    seen.map((d) => (d.event as TradeEvent).tradeId),
    range(1, total),
  );
});

test('a record near the broker limit that is not UTF-8 is dead-lettered (raw cut to fit) and the consumer goes on', async (t) => {
  const { bus, config, metrics } = await startBus(t, 'dlq-big');
  await bus.publish([trade('BTCUSDT', 1)]);
  // 900,000 random bytes fit a record; as a dead letter's raw text each invalid byte becomes a
  // 3-byte U+FFFD, so the letter uncut is over the broker's 1 MiB and was refused for good.
  const producer = new Producer({ clientId: 'dlq-big', bootstrapBrokers: kafkaBrokers(), compression: 'lz4' });
  t.after(() => producer.close());
  const header = (name: string, value: string): [Buffer, Buffer] => [Buffer.from(name), Buffer.from(value)];
  await producer.send({
    messages: [
      {
        topic: config.topics.trades,
        key: Buffer.from('binance:spot:BTCUSDT'),
        value: randomBytes(900_000),
        headers: new Map([header('tickflow-type', 'trade'), header('tickflow-schema', '2'), header('tickflow-ingested', '1763700000000000')]),
      },
    ],
  });
  await bus.publish([trade('BTCUSDT', 2)]);

  const trades: Delivery[] = [];
  const letters: Delivery[] = [];
  const consumer = await bus.subscribe(
    { group: 'dlq-big', topics: ['trades'], fromBeginning: true },
    {
      onDeliveries: async (batch) => {
        await consumer.commit(batch);
        trades.push(...batch);
      },
    },
  );
  t.after(() => consumer.close());
  const dlq = await bus.subscribe(
    { group: 'dlq-big-reader', topics: ['deadLetters'], fromBeginning: true },
    { onDeliveries: async (batch) => void letters.push(...batch) },
  );
  t.after(() => dlq.close());
  await waitFor('both trades and one dead letter', () => trades.length === 2 && letters.length === 1);
  assert.deepEqual(tradeIds(trades), [1, 2]);
  const letter = letters[0]!.event as DeadLetterEvent;
  assert.equal(letter.reason, 'undecodable_record');
  assert.match(letter.detail, /raw cut to its first \d+ of \d+ characters/);
  const counted = async () => (await metrics.deadLetters.get()).values.find((v) => v.labels.reason === 'undecodable_record')?.value;
  await waitFor('the dead letter counted', async () => (await counted()) !== undefined);
  assert.equal(await counted(), 1);
});

test('a dead letter the bus refuses for good stops the consumer with the reason, not the process, and nothing is committed past the record', async (t) => {
  const { bus, config } = await startBus(t, 'dlq-refused');
  await bus.publish([trade('BTCUSDT', 1)]);
  const producer = new Producer({ clientId: 'dlq-refused', bootstrapBrokers: kafkaBrokers() });
  t.after(() => producer.close());
  await producer.send({ messages: [{ topic: config.topics.trades, key: Buffer.from('binance:spot:BTCUSDT'), value: Buffer.from('{not json') }] });
  await bus.publish([trade('BTCUSDT', 2)]);

  const delivered: Delivery[] = [];
  const consumer: KafkaGroupConsumer = new KafkaGroupConsumer(
    {
      brokers: config.brokers,
      security: {},
      clientId: 'dlq-refused',
      group: 'dlq-refused',
      topics: new Map([['trades', config.topics.trades]]),
      resetTo: 'earliest',
      maxBatch: 1000,
      onClosed: () => {},
      deadLetter: async () => {
        throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, 'the broker refused the dead letter', { canRetry: false });
      },
    },
    {
      // The consumer is typed for any bus event; this group's topic carries market events only (as KafkaBus.subscribe casts).
      onDeliveries: async (batch) => {
        await consumer.commit(batch as readonly Delivery[]);
        delivered.push(...(batch as readonly Delivery[]));
      },
    },
    silentLogger(),
    createMetrics(),
  );
  t.after(() => consumer.close());
  await consumer.start();
  await waitFor('the consumer stopped', () => consumer.stoppedFor !== undefined);
  assert.match(consumer.stoppedFor!, /a dead letter could not be published: the broker refused the dead letter/);
  // Trade 1 may have been delivered before the record (another fetch), trade 2 never: it is behind it.
  assert.ok(!tradeIds(delivered).includes(2), `delivered ${tradeIds(delivered)}`);
  const lag = await consumer.lag();
  const uncommitted = lag.reduce((n, l) => n + l.lag, 0);
  assert.equal(uncommitted, 3 - delivered.length, `the record and what follows it stay uncommitted: ${JSON.stringify(lag)}`);
});
