import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GapEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { CopyPolicy, writeBatchIsolating } from '../../src/store/batch-write.js';
import type { Database } from '../../src/store/database.js';
import { openMigrated, syntheticTrades } from './fixtures.js';

const gap: GapEvent = {
  type: 'gap',
  exchange: 'binance',
  market: 'spot',
  symbol: 'BTCUSDT',
  stream: 'trade',
  firstMissingId: 5,
  lastMissingId: 7,
  detectedAt: 1_723_161_256_000,
  reason: 'sequence',
};

/** `db` with its transactions counted. */
function counting(db: Database): { db: Database; transactions(): number } {
  let n = 0;
  return {
    db: {
      ...db,
      transaction: (fn) => {
        n += 1;
        return db.transaction(fn);
      },
    },
    transactions: () => n,
  };
}

test('a batch of one INSERT is written without a transaction around it; several tables and COPY keep theirs; duplicates stay no-ops', async (t) => {
  const server = await openMigrated(t, 'postgres', 100_000);
  const { db, transactions } = counting(server);
  const deps = { db, metrics: createMetrics(), logger: silentLogger(), copy: new CopyPolicy() };
  const stored = async () => Number((await server.query<{ n: number }>('SELECT count(*) AS n FROM trades'))[0]?.n);

  assert.deepEqual(await writeBatchIsolating(deps, syntheticTrades(10)), { inserted: 10, duplicates: 0, rejected: 0 });
  assert.equal(transactions(), 0, 'one table, below the COPY threshold: the INSERT alone');
  assert.deepEqual(await writeBatchIsolating(deps, syntheticTrades(10)), { inserted: 0, duplicates: 10, rejected: 0 });
  assert.equal(transactions(), 0);

  assert.deepEqual(await writeBatchIsolating(deps, [...syntheticTrades(5, 11), gap]), { inserted: 6, duplicates: 0, rejected: 0 });
  assert.equal(transactions(), 1, 'two tables: one transaction');

  assert.deepEqual(await writeBatchIsolating(deps, syntheticTrades(1_000, 100)), { inserted: 1_000, duplicates: 0, rejected: 0 });
  assert.equal(transactions(), 2, 'COPY runs under a savepoint, inside a transaction');
  assert.equal(await stored(), 1_015);
});
