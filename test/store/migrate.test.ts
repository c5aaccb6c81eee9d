import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { silentLogger } from '../../src/ops/logger.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { migrations } from '../../src/store/migrations/index.js';
import { maintainPartitions, partitionName } from '../../src/store/partitions.js';
import { openPostgres } from '../../src/store/postgres.js';
import { freshDatabase } from '../support/postgres.js';

const logger = silentLogger();
const TABLES = ['book_ticker', 'dead_letters', 'depth_updates', 'gaps', 'klines', 'trades'];
const DAY = 86_400_000;
const VERSIONS = migrations.map((m) => m.version);

async function embedded(t: TestContext): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-pglite-'));
  const db = await openEmbedded({ dataDir: dir, port: 0, logger });
  t.after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  return db;
}

async function server(t: TestContext): Promise<Database> {
  const db = await openPostgres(await freshDatabase(t), { logger });
  t.after(() => db.close());
  return db;
}

async function tables(db: Database): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

test('embedded: migrations create plain tables once', async (t) => {
  const db = await embedded(t);
  const first = await migrate(db, { logger, retentionDays: 30 });
  assert.equal(first.layout, 'plain');
  assert.deepEqual(first.applied, VERSIONS);
  const present = await tables(db);
  for (const table of [...TABLES, 'schema_migrations', 'time_series_tables']) assert.ok(present.includes(table), `${table} missing`);
  const again = await migrate(db, { logger, retentionDays: 30 });
  assert.deepEqual(again.applied, []);
  const versions = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  assert.deepEqual(versions.map((r) => r.version), VERSIONS);
});

test('server: migrations create daily partitions with a default, idempotently', async (t) => {
  const db = await server(t);
  const first = await migrate(db, { logger, retentionDays: 30 });
  assert.equal(first.layout, 'partitioned');
  assert.deepEqual(first.applied, VERSIONS);
  const present = await tables(db);
  for (const table of [...TABLES, 'schema_migrations', 'time_series_tables']) assert.ok(present.includes(table), `${table} missing`);
  const parts = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'trades'::regclass ORDER BY 1`,
  );
  const today = Math.floor(Date.now() / DAY) * DAY;
  const expected = [-1, 0, 1, 2, 3].map((d) => partitionName('trades', today + d * DAY));
  assert.deepEqual(parts.map((p) => p.name), [...expected, 'trades_default'].sort());
  const again = await migrate(db, { logger, retentionDays: 30 });
  assert.deepEqual(again.applied, []);
});

test('server: maintenance moves early rows out of the default partition and drops expired days', async (t) => {
  const db = await server(t);
  await migrate(db, { logger, retentionDays: 30 });
  const now = Date.now();
  const inTenDays = new Date(now + 10 * DAY).toISOString();
  await db.query(
    `INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 5, 9, $1, 'sequence')`,
    [inTenDays],
  );
  const later = await maintainPartitions(db, { retentionDays: 30, now: new Date(now + 10 * DAY) });
  const target = partitionName('gaps', Math.floor((now + 10 * DAY) / DAY) * DAY);
  assert.ok(later.created.includes(target));
  const where = await db.query<{ part: string }>('SELECT tableoid::regclass::text AS part FROM gaps');
  assert.deepEqual(where.map((r) => r.part), [target]);
  // Thirty-five days on, today's partitions are past retention.
  const expired = await maintainPartitions(db, { retentionDays: 30, now: new Date(now + 35 * DAY) });
  assert.ok(expired.dropped.includes(partitionName('gaps', Math.floor(now / DAY) * DAY)));
});

test('embedded: maintenance deletes rows past retention from plain tables', async (t) => {
  const db = await embedded(t);
  await migrate(db, { logger, retentionDays: 30 });
  const old = new Date(Date.now() - 31 * DAY).toISOString();
  const recent = new Date(Date.now() - DAY).toISOString();
  for (const at of [old, recent]) {
    await db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 5, 9, $1, 'sequence')`, [at]);
  }
  const result = await maintainPartitions(db, { retentionDays: 30 });
  assert.equal(result.deletedRows, 1);
  assert.deepEqual(result.created, []);
  assert.deepEqual(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps'), [{ n: 1 }]);
});
