import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { assertStoredExactlyEmitted, cluster, pause, privateKafka, startRole, withDb } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

test('the broker stops and restarts while ingest runs: ingest buffers, reconnects, nothing is lost', async (t) => {
  // A broker of this test's own: stopping the shared one would break other tests running now.
  const kafka = await privateKafka(t);
  kafka.start();
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 31, tradesPerSecond: 100 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('broker-restart'), await freshDatabase(t), kafka.brokers);
  const ingest = await startRole(t, 'ingest', on, [
    '--source',
    'binance',
    '--ws-url',
    sim.wsBaseUrl,
    '--symbols',
    SYMBOLS.join(','),
    '--streams',
    'trade,aggTrade',
  ]);
  await startRole(t, 'store', on, ['--set', 'store.batchMs=500'], { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' });
  const storedRows = () => withDb(on.dbUrl, async (db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades'))[0]!.n);
  await waitFor('trades flowing to the database', async () => (await storedRows()) > 0, 30_000);

  kafka.stop();
  await ingest.waitForLog(/Kafka produce failed/, 30_000);
  await pause(5_000);
  kafka.start();
  await pause(5_000);
  sim.faults.stall(600_000);
  await pause(1_000);
  const emitted = sim.emitted();
  await assertStoredExactlyEmitted(on.dbUrl, emitted, 90_000);
  assert.equal(ingest.child.exitCode, null, 'ingest kept running through the outage');
});
