import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { silentLogger } from '../../src/ops/logger.js';
import { CommitTracker, sourceOf } from '../../src/processors/commit-tracker.js';
import { observeCommits } from '../support/bus.js';

const delivery = (topic: 'trades' | 'bookTicker', offset: number): Delivery => ({
  topic,
  partition: 0,
  offset: BigInt(offset),
  key: 'binance:spot:BTCUSDT',
  event: {} as Delivery['event'],
});

async function consumerOf(t: { after: (fn: () => Promise<void>) => void }) {
  const commits: { source: string; offset: bigint }[][] = [];
  const bus = observeCommits(new MemoryBus(), (ds) => {
    commits.push(ds.map((d) => ({ source: sourceOf(d), offset: d.offset })));
  });
  const consumer = await bus.subscribe({ group: 'process', topics: ['trades', 'bookTicker'] }, { onDeliveries: async () => {} });
  t.after(async () => {
    await consumer.close();
    await bus.close();
  });
  return { consumer, commits };
}

test('commits per source what the core allows, once, and only past the last commit', async (t) => {
  const { consumer, commits } = await consumerOf(t);
  const tracker = new CommitTracker(silentLogger());
  tracker.seen([delivery('trades', 0), delivery('trades', 1), delivery('bookTicker', 0)]);
  const allowed = new Map<string, bigint | undefined>([
    ['trades/0', 1n],
    ['bookTicker/0', undefined], // a window still holds everything
  ]);
  const committable = (s: string) => allowed.get(s);
  await tracker.commit(consumer, allowed.keys(), committable);
  assert.deepEqual(commits, [[{ source: 'trades/0', offset: 1n }]]);
  await tracker.commit(consumer, allowed.keys(), committable);
  assert.equal(commits.length, 1, 'nothing new: no second commit');
  allowed.set('trades/0', 0n);
  await tracker.commit(consumer, allowed.keys(), committable);
  assert.equal(commits.length, 1, 'never backwards');
});

test('a source never delivered is not committed; a revoked one starts over', async (t) => {
  const { consumer, commits } = await consumerOf(t);
  const tracker = new CommitTracker(silentLogger());
  await tracker.commit(consumer, ['trades/0'], () => 5n);
  assert.equal(commits.length, 0, 'no delivery seen for it');
  tracker.seen([delivery('trades', 7)]);
  await tracker.commit(consumer, ['trades/0'], () => 5n);
  tracker.forget('trades/0');
  assert.equal(tracker.lastDelivery.size, 0);
  tracker.seen([delivery('trades', 3)]);
  await tracker.commit(consumer, ['trades/0'], () => 2n);
  assert.deepEqual(
    commits.map((c) => c[0]?.offset),
    [5n, 2n],
    'after the revoke the new assignment commits from what it was given',
  );
});

test('a failed commit is logged and retried by the next commit', async () => {
  const tracker = new CommitTracker(silentLogger());
  tracker.seen([delivery('trades', 4)]);
  // The memory bus never refuses a commit; a Kafka group mid-rebalance does.
  let fail = true;
  const committed: bigint[] = [];
  const consumer = {
    commit: async (ds: readonly Delivery[]) => {
      if (fail) throw new Error('rebalance in progress');
      committed.push(...ds.map((d) => d.offset));
    },
    lag: async () => [],
    close: async () => {},
  };
  await tracker.commit(consumer, ['trades/0'], () => 3n);
  fail = false;
  await tracker.commit(consumer, ['trades/0'], () => 3n);
  assert.deepEqual(committed, [3n]);
});
