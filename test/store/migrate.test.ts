import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { createLogger, silentLogger, type Logger } from '../../src/ops/logger.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate, recordedObjects } from '../../src/store/migrate.js';
import { migrations } from '../../src/store/migrations/index.js';
import { maintainPartitions, partitionName } from '../../src/store/partitions.js';
import { openPostgres } from '../../src/store/postgres.js';
import { tempDir } from '../support/pipeline.js';
import { freshDatabase } from '../support/postgres.js';

const logger = silentLogger();
const TABLES = ['book_ticker', 'dead_letters', 'depth_snapshots', 'depth_updates', 'gaps', 'klines', 'trades'];
const DAY = 86_400_000;
const VERSIONS = migrations.map((m) => m.version);

async function embedded(t: TestContext): Promise<Database> {
  const db = await openEmbedded({ dataDir: tempDir(), port: 0, logger });
  t.after(() => db.close());
  return db;
}

/** A logger whose lines the test reads back. */
function recordingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => void out.push(l) } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
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
  const later = await maintainPartitions(db, { retentionDays: 30, logger, now: new Date(now + 10 * DAY) });
  const target = partitionName('gaps', Math.floor((now + 10 * DAY) / DAY) * DAY);
  assert.ok(later.created.includes(target));
  const where = await db.query<{ part: string }>('SELECT tableoid::regclass::text AS part FROM gaps');
  assert.deepEqual(where.map((r) => r.part), [target]);
  // Thirty-five days on, with data of that day stored, today's partitions are past retention.
  await db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 10, 11, $1, 'sequence')`, [new Date(now + 35 * DAY).toISOString()]);
  const expired = await maintainPartitions(db, { retentionDays: 30, logger, now: new Date(now + 35 * DAY) });
  assert.ok(expired.dropped.includes(partitionName('gaps', Math.floor(now / DAY) * DAY)));
});

test('embedded: maintenance deletes rows past retention from plain tables', async (t) => {
  const db = await embedded(t);
  await migrate(db, { logger, retentionDays: 30 });
  const old = new Date(Date.now() - 40 * DAY).toISOString();
  const recent = new Date(Date.now() - DAY).toISOString();
  for (const at of [old, recent]) {
    await db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 5, 9, $1, 'sequence')`, [at]);
  }
  const result = await maintainPartitions(db, { retentionDays: 30, logger });
  assert.equal(result.deletedRows, 1);
  assert.deepEqual(result.created, []);
  assert.deepEqual(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps'), [{ n: 1 }]);
});

test('retention kind: replayed history is measured against the newest stored row, kept on the next start, and every deletion is logged', async (t) => {
  const db = await embedded(t);
  await migrate(db, { logger, retentionDays: 30 });
  const insert = (at: string, id: number) =>
    db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', $2, $2, $1, 'sequence')`, [at, id]);
  // A replayed 2024 recording: two rows a day apart, and one from 40 days before them.
  await insert('2024-08-08T10:00:00Z', 1);
  await insert('2024-08-07T10:00:00Z', 2);
  await insert('2024-06-29T10:00:00Z', 3);
  const first = recordingLogger();
  // What the next start runs (migrate → maintenance), today being 2026.
  await migrate(db, { logger: first.logger, retentionDays: 30 });
  assert.deepEqual(await db.query<{ id: number }>('SELECT first_missing_id AS id FROM gaps ORDER BY 1'), [{ id: 1 }, { id: 2 }]);
  const line = first.lines().find((l) => l.msg === 'retention deleted rows');
  assert.deepEqual(
    line && { table: line.table, rows: line.rows, olderThan: line.olderThan, newestStored: line.newestStored },
    { table: 'gaps', rows: 1, olderThan: '2024-07-09T10:00:00.000Z', newestStored: '2024-08-08T10:00:00.000Z' },
  );
  // Replays keep everything.
  const replay = recordingLogger();
  await insert('2020-01-01T00:00:00Z', 4);
  await migrate(db, { logger: replay.logger, retentionDays: 30, retention: false });
  assert.equal((await db.query('SELECT 1 FROM gaps')).length, 3);
  assert.equal(replay.lines().some((l) => String(l.msg).startsWith('retention')), false);
});

test('migration objects kind: a table dropped after its migration was recorded stops start-up with what to do, not a writer retrying forever', async (t) => {
  const db = await embedded(t);
  await migrate(db, { logger, retentionDays: 30 });
  await db.query('DROP TABLE trades');
  await db.query('DROP INDEX candles_interval_time');
  await assert.rejects(migrate(db, { logger, retentionDays: 30 }), (err: Error & { code?: string; canRetry?: boolean }) => {
    assert.equal(err.canRetry, false);
    assert.match(err.message, /missing candles_interval_time \(migration 2 processor\), trades \(migration 1 core\)/);
    assert.match(err.message, /Restore it from a backup/);
    return true;
  });
});

test('recordedObjects follows creates, drops and renames across migrations', () => {
  const objects = recordedObjects([
    { version: 1, name: 'a', timeSeries: [{ name: 'ticks', timeColumn: 't', definition: 't timestamptz' }], sql: 'CREATE TABLE IF NOT EXISTS old_names (x int); CREATE INDEX ticks_t ON ticks (t);' },
    { version: 2, name: 'b', sql: 'ALTER TABLE old_names RENAME TO new_names; DROP INDEX IF EXISTS ticks_t; CREATE UNIQUE INDEX "ticks_u" ON ticks (t);' },
  ]);
  assert.deepEqual([...objects].map(([name, m]) => [name, m.version]).sort(), [['new_names', 2], ['ticks', 1], ['ticks_u', 2]]);
});
