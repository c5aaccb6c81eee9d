import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { STORE_GROUP } from '../../src/store/writer.js';
import { uniquePrefix } from '../support/kafka.js';
import { assertStoredExactlyEmitted, cluster, describeGroup, pause, privateKafka, privatePostgres, startRole, withDb } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const OUTAGE_MS = 30_000;

test('PostgreSQL down for 30 s: the store retries with backoff, commits no offset meanwhile, resumes, nothing lost or doubled', async (t) => {
  // A cluster of this test's own: stopping the shared one would break other tests running now.
  const postgres = await privatePostgres(t);
  // A broker of its own too: a member of group tickflow-store left by another test on the shared
  // broker could hold up the assignment for longer than this test should wait.
  const kafka = await privateKafka(t);
  kafka.start();
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 41, tradesPerSecond: 60 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('pg-outage'), postgres.url, kafka.brokers);
  await startRole(t, 'ingest', on, ['--source', 'binance', '--ws-url', sim.wsBaseUrl, '--symbols', SYMBOLS.join(','), '--streams', 'trade,aggTrade']);
  const store = await startRole(t, 'store', on, ['--set', 'store.batchMs=500', '--set', 'store.retryInitialMs=200', '--set', 'store.retryMaxMs=4000'], {
    TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest',
  });
  const storedRows = () => withDb(on.dbUrl, async (db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades'))[0]!.n);
  await waitFor('trades flowing to the database', async () => (await storedRows()) > 0, 60_000);

  const outageStarted = Date.now();
  postgres.stop();
  await store.waitForLog(/batch write failed; keeping it and retrying/, 15_000);
  await waitFor('the store reported down', async () => (await store.health()).components.store?.state === 'down', 15_000);
  const down = await store.health();
  assert.equal(down.ready, false);
  assert.ok(down.components.store?.reason, `a reason is given: ${JSON.stringify(down.components.store)}`);
  const offsetsEarly = await describeGroup(on.brokers, STORE_GROUP, on.prefix);
  assert.ok(
    offsetsEarly.some((p) => p.offset !== null && p.offset > 0),
    'offsets were committed before the outage',
  );
  await pause(Math.max(0, OUTAGE_MS - 6_000 - (Date.now() - outageStarted)));
  const offsetsLate = await describeGroup(on.brokers, STORE_GROUP, on.prefix);
  assert.deepEqual(
    offsetsLate.map((p) => [p.topic, p.partition, p.offset]),
    offsetsEarly.map((p) => [p.topic, p.partition, p.offset]),
    'no offset committed while the database was down',
  );
  const retries = store
    .stderr()
    .split('\n')
    .filter((l) => l.includes('batch write failed; keeping it and retrying'));
  const delays = retries.map((l) => (JSON.parse(l) as { delayMs: number }).delayMs);
  assert.ok(delays.length >= 3 && delays.at(-1)! > delays[0]!, `backoff grows: ${delays.join(',')}`);
  await pause(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
  postgres.start();

  await waitFor('the store up again', async () => (await store.health()).components.store?.state === 'up', 30_000);
  await pause(2_000);
  sim.faults.stall(600_000);
  await pause(1_000);
  await assertStoredExactlyEmitted(on.dbUrl, sim.emitted());
  assert.equal(store.child.exitCode, null, 'the store kept running through the outage');
});
