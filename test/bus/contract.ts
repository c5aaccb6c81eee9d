import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Bus, Delivery } from '../../src/bus/bus.js';
import { ErrorCodes, TickflowError } from '../../src/core/errors.js';
import type { TradeEvent } from '../../src/core/events.js';
import { trade } from '../processors/support.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT'];

/** `n` trades, ids 1..n, round-robin over three symbols (three keys). */
function trades(n: number): TradeEvent[] {
  return Array.from({ length: n }, (_, i) => trade(i + 1, 1_700_000_000_000 + i, '42000.01', '0.5', true, SYMBOLS[i % SYMBOLS.length]));
}

const idOf = (d: Delivery): number => (d.event as TradeEvent).tradeId;

/** Total records the group has not committed, over its partitions. */
async function uncommitted(consumer: { lag(): Promise<readonly { lag: number }[]> }): Promise<number> {
  return (await consumer.lag()).reduce((n, l) => n + l.lag, 0);
}

/**
 * The behaviour every Bus must have, whatever carries it: run against the in-process MemoryBus
 * (test/bus/memory.test.ts) and real Kafka (test/bus/kafka/kafka-bus.test.ts). `open` gives a bus
 * whose topics and groups no other test sees, closed when the test ends. What only one bus can do
 * (Kafka's restart from committed offsets, the memory bus's failed group) is tested beside it.
 */
export function busContract(kind: string, open: (t: TestContext) => Promise<Bus>): void {
  test(`${kind} bus contract: the events of one key arrive in publish order, at increasing offsets`, async (t) => {
    const bus = await open(t);
    const got: Delivery[] = [];
    const consumer = await bus.subscribe(
      { group: 'order', topics: ['trades'], fromBeginning: true },
      { onDeliveries: async (batch) => void got.push(...batch) },
    );
    t.after(() => consumer.close());
    const events = trades(90);
    await bus.publish(events.slice(0, 45));
    await bus.publish(events.slice(45));
    await waitFor('90 deliveries', () => got.length >= 90, { progress: () => got.length });
    assert.deepEqual(
      got.map(idOf).sort((a, b) => a - b),
      events.map((e) => e.tradeId),
      'each event once',
    );
    for (const symbol of SYMBOLS) {
      const mine = got.filter((d) => (d.event as TradeEvent).symbol === symbol);
      assert.equal(new Set(mine.map((d) => d.partition)).size, 1, `${symbol}: one partition`);
      assert.deepEqual(
        mine.map(idOf),
        events.filter((e) => e.symbol === symbol).map((e) => e.tradeId),
        `${symbol}: publish order`,
      );
      assert.ok(
        mine.every((d, i) => i === 0 || d.offset > mine[i - 1]!.offset),
        `${symbol}: increasing offsets`,
      );
      assert.ok(mine.every((d) => d.topic === 'trades' && d.key.endsWith(symbol)));
    }
  });

  test(`${kind} bus contract: every consumer group is handed every event`, async (t) => {
    const bus = await open(t);
    const got = { a: [] as Delivery[], b: [] as Delivery[] };
    for (const group of ['a', 'b'] as const) {
      const consumer = await bus.subscribe(
        { group, topics: ['trades'], fromBeginning: true },
        { onDeliveries: async (batch) => void got[group].push(...batch) },
      );
      t.after(() => consumer.close());
    }
    await bus.publish(trades(30));
    await waitFor('both groups handed 30 events', () => got.a.length >= 30 && got.b.length >= 30, { progress: () => got.a.length + got.b.length });
    assert.deepEqual(
      got.a.map(idOf).sort((x, y) => x - y),
      got.b.map(idOf).sort((x, y) => x - y),
    );
    assert.equal(new Set(got.a.map(idOf)).size, 30);
  });

  test(`${kind} bus contract: handling does not commit; a commit covers what it names, per partition the highest`, async (t) => {
    const bus = await open(t);
    const got: Delivery[] = [];
    const consumer = await bus.subscribe(
      { group: 'commit', topics: ['trades'], fromBeginning: true },
      { onDeliveries: async (batch) => void got.push(...batch) },
    );
    t.after(() => consumer.close());
    await bus.publish(trades(30));
    await waitFor('30 deliveries', () => got.length >= 30, { progress: () => got.length });
    assert.equal(await uncommitted(consumer), 30, 'handled, not committed');
    await consumer.commit(got.slice(0, 12));
    assert.equal(await uncommitted(consumer), 18);
    await consumer.commit(got);
    assert.equal(await uncommitted(consumer), 0);
  });

  test(`${kind} bus contract: a batch the handler failed with a retryable error is handed over again, nothing skipped`, async (t) => {
    const bus = await open(t);
    const got: Delivery[] = [];
    let failed: readonly Delivery[] = [];
    const consumer = await bus.subscribe(
      { group: 'redeliver', topics: ['trades'], fromBeginning: true },
      {
        onDeliveries: async (batch) => {
          if (failed.length === 0) {
            failed = batch;
            throw new TickflowError(ErrorCodes.STORE_UNAVAILABLE, 'database restarting', { canRetry: true });
          }
          got.push(...batch);
        },
      },
    );
    t.after(() => consumer.close());
    await bus.publish(trades(30));
    await waitFor('30 events after one failed batch', () => got.length >= 30, { progress: () => got.length });
    assert.ok(failed.length > 0);
    for (const d of failed)
      assert.ok(
        got.some((g) => g.partition === d.partition && g.offset === d.offset && idOf(g) === idOf(d)),
        `offset ${d.offset} handed over again`,
      );
    assert.deepEqual(
      [...new Set(got.map(idOf))].sort((a, b) => a - b),
      trades(30).map((e) => e.tradeId),
    );
    assert.equal(await uncommitted(consumer), 30, 'a failed batch is never committed by the bus');
  });

  test(`${kind} bus contract: a handler failure no retry fixes stops the group, commits nothing, and failure() names it for /health`, async (t) => {
    const bus = await open(t);
    let calls = 0;
    const consumer = await bus.subscribe(
      { group: 'broken', topics: ['trades'], fromBeginning: true },
      {
        onDeliveries: async () => {
          calls += 1;
          throw new TickflowError(ErrorCodes.STORE_WRITE, 'relation "trades" does not exist', { canRetry: false });
        },
      },
    );
    t.after(() => consumer.close());
    assert.equal(bus.failure(), undefined, 'a working bus names no failure');
    await bus.publish(trades(30));
    const failure = await waitFor('the group to stop for good', () => bus.failure(), { progress: () => calls });
    assert.match(failure, /consumer group \S*broken\S* stopped.*relation "trades" does not exist/);
    assert.equal(calls, 1, 'not retried');
    assert.equal(await uncommitted(consumer), 30, 'nothing committed past the failed batch');
  });
}
