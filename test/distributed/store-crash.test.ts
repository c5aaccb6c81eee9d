import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { assertStoredExactlyEmitted, cluster, pause, startRole, withDb } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

test('kill -9 of the store role with a batch pending, then a restart: every produced trade stored exactly once', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 21, tradesPerSecond: 100 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('store-kill'), await freshDatabase(t));
  await startRole(t, 'ingest', on, ['--source', 'binance', '--ws-url', sim.wsBaseUrl, '--symbols', SYMBOLS.join(','), '--streams', 'trade,aggTrade']);
  const storeArgs = ['--set', 'store.batchRows=100000'];
  const env = { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' };
  const first = await startRole(t, 'store', on, storeArgs, env);

  const storedRows = () => withDb(on.dbUrl, async (db) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades'))[0]!.n);
  await waitFor('a first batch committed', async () => (await storedRows()) > 0, 30_000);
  // The writer writes as soon as rows arrive, so rows are pending only while a write waits: a
  // client holding the trades table's lock makes it wait, as a busy database would. The kill lands
  // with a write in flight and rows behind it, none of them committed.
  const beforeKill = await withDb(on.dbUrl, async (db) => {
    await db.query('BEGIN');
    await db.query('LOCK TABLE trades IN ACCESS EXCLUSIVE MODE');
    await waitFor('rows pending in the store', async () => Number((await first.health()).components.store?.details?.pendingRows ?? 0) > 50, 30_000);
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, 137);
    const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades');
    await db.query('ROLLBACK');
    return row!.n;
  });

  await pause(1_000);
  await startRole(t, 'store', on, storeArgs, env);
  await pause(3_000);
  sim.faults.stall(600_000);
  await pause(1_000);
  const emitted = sim.emitted();
  await assertStoredExactlyEmitted(on.dbUrl, emitted);
  assert.ok((await storedRows()) > beforeKill, 'the restarted store wrote what the killed one held');
});
