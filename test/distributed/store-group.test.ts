import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { STORE_GROUP } from '../../src/store/writer.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { assertStoredExactlyEmitted, cluster, describeGroup, type GroupPartition, pause, startRole } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT'];

test('two store instances share the partitions; SIGTERM on one hands them over without loss or duplicates', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 51, tradesPerSecond: 50 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('store-group'), await freshDatabase(t));
  await startRole(t, 'ingest', on, ['--source', 'binance', '--ws-url', sim.wsBaseUrl, '--symbols', SYMBOLS.join(','), '--streams', 'trade,aggTrade']);
  const storeArgs = ['--set', 'store.batchMs=1000'];
  const env = { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' };
  const [a, b] = await Promise.all([startRole(t, 'store', on, storeArgs, env), startRole(t, 'store', on, storeArgs, env)]);

  const membersOf = (rows: GroupPartition[]) => new Set(rows.map((p) => p.consumerId));
  let shared: GroupPartition[] = [];
  await waitFor(
    'both stores holding partitions',
    async () => {
      shared = await describeGroup(on.brokers, STORE_GROUP, on.prefix);
      return shared.length > 0 && shared.every((p) => p.consumerId !== null) && membersOf(shared).size === 2;
    },
    60_000,
  );
  assert.equal(shared.filter((p) => p.topic === on.topic('trades')).length, 3, 'the trades topic has 3 partitions');

  await pause(2_000);
  a.child.kill('SIGTERM');
  assert.equal(await a.exited, 0, a.stderr().slice(-2000));
  let after: GroupPartition[] = [];
  await waitFor(
    'the remaining store holding every partition',
    async () => {
      after = await describeGroup(on.brokers, STORE_GROUP, on.prefix);
      return after.length === shared.length && after.every((p) => p.consumerId !== null) && membersOf(after).size === 1;
    },
    60_000,
  );
  assert.ok(membersOf(shared).has([...membersOf(after)][0]!), 'the survivor is one of the two members');

  await pause(2_000);
  sim.faults.stall(600_000);
  await pause(1_000);
  await assertStoredExactlyEmitted(on.dbUrl, sim.emitted());
  assert.equal(b.child.exitCode, null);
});
