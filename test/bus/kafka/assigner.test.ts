import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '../../../src/bus/bus.js';
import { subscriptionAwareAssigner } from '../../../src/bus/kafka/assigner.js';
import { startBus, trade, tradeIds } from './helpers.js';
import { waitFor } from '../../support/wait.js';

type Metadata = Parameters<typeof subscriptionAwareAssigner>[3];

test('each topic goes round-robin to its own subscribers only', () => {
  const members = new Map([
    ['m1', { memberId: 'm1', version: 0, topics: ['a.trades', 'a.book'] }],
    ['m2', { memberId: 'm2', version: 0, topics: ['a.trades', 'a.book'] }],
    ['x1', { memberId: 'x1', version: 0, topics: ['b.trades'] }],
  ]);
  const metadata = {
    topics: new Map([
      ['a.trades', { partitionsCount: 3 }],
      ['a.book', { partitionsCount: 3 }],
      ['b.trades', { partitionsCount: 3 }],
    ]),
  } as unknown as Metadata;
  const result = subscriptionAwareAssigner('m1', members, new Set(['a.trades', 'a.book']), metadata);
  const of = (id: string) => Object.fromEntries([...result.find((r) => r.memberId === id)!.assignments].map(([t, a]) => [t, a.partitions]));
  assert.deepEqual(of('x1'), { 'b.trades': [0, 1, 2] });
  const m1 = of('m1');
  const m2 = of('m2');
  for (const topic of ['a.trades', 'a.book']) {
    assert.deepEqual([...(m1[topic] ?? []), ...(m2[topic] ?? [])].sort(), [0, 1, 2], `${topic} fully assigned, once`);
  }
  assert.equal(m1['b.trades'], undefined);
});

test('two deployments sharing a group name on one broker both consume everything of their own', async (t) => {
  const one = await startBus(t, 'shared-a');
  const two = await startBus(t, 'shared-b');
  const seen = { one: [] as Delivery[], two: [] as Delivery[] };
  const c1 = await one.bus.subscribe({ group: 'same-name', topics: ['trades'], fromBeginning: true }, { onDeliveries: async (b) => void seen.one.push(...b) });
  t.after(() => c1.close());
  const c2 = await two.bus.subscribe({ group: 'same-name', topics: ['trades'], fromBeginning: true }, { onDeliveries: async (b) => void seen.two.push(...b) });
  t.after(() => c2.close());
  const ids = Array.from({ length: 30 }, (_, i) => i + 1);
  await one.bus.publish(ids.map((id) => trade(`S${id % 7}USDT`, id)));
  await two.bus.publish(ids.map((id) => trade(`S${id % 5}USDT`, 1000 + id)));
  await waitFor('both deployments consume their topics', () => seen.one.length >= 30 && seen.two.length >= 30);
  assert.deepEqual(
    [...new Set(tradeIds(seen.one))].sort((a, b) => a - b),
    ids,
  );
  assert.deepEqual(
    [...new Set(tradeIds(seen.two))].sort((a, b) => a - b),
    ids.map((i) => 1000 + i),
  );
});
