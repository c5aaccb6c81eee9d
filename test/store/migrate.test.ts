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
  assert.deepEqual(
    versions.map((r) => r.version),
    VERSIONS,
  );
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
  assert.deepEqual(
    parts.map((p) => p.name),
    [...expected, 'trades_default'].sort(),
  );
  const again = await migrate(db, { logger, retentionDays: 30 });
  assert.deepEqual(again.applied, []);
});

test('server: maintenance moves early rows out of the default partition and drops expired days', async (t) => {
  const db = await server(t);
  await migrate(db, { logger, retentionDays: 30 });
  const now = Date.now();
  const inTenDays = new Date(now + 10 * DAY).toISOString();
  await db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 5, 9, $1, 'sequence')`, [inTenDays]);
  const later = await maintainPartitions(db, { retentionDays: 30, logger, now: new Date(now + 10 * DAY) });
  const target = partitionName('gaps', Math.floor((now + 10 * DAY) / DAY) * DAY);
  assert.ok(later.created.includes(target));
  const where = await db.query<{ part: string }>('SELECT tableoid::regclass::text AS part FROM gaps');
  assert.deepEqual(
    where.map((r) => r.part),
    [target],
  );
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
  const insert = (at: string, id: number) => db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', $2, $2, $1, 'sequence')`, [at, id]);
  // A replayed 2024 recording: two rows a day apart, and one from 40 days before them.
  await insert('2024-08-08T10:00:00Z', 1);
  await insert('2024-08-07T10:00:00Z', 2);
  await insert('2024-06-29T10:00:00Z', 3);
  const first = recordingLogger();
  // What the next start runs (migrate → maintenance), today being 2026.
  await migrate(db, { logger: first.logger, retentionDays: 30 });
  assert.deepEqual(await db.query<{ id: number }>('SELECT first_missing_id AS id FROM gaps ORDER BY 1'), [{ id: 1 }, { id: 2 }]);
  const line = first.lines().find((l) => l.msg === 'retention deleted rows');
  assert.deepEqual(line && { table: line.table, rows: line.rows, olderThan: line.olderThan, newestStored: line.newestStored }, {
    table: 'gaps',
    rows: 1,
    olderThan: '2024-07-09T10:00:00.000Z',
    newestStored: '2024-08-08T10:00:00.000Z',
  });
  // Replays keep everything.
  const replay = recordingLogger();
  await insert('2020-01-01T00:00:00Z', 4);
  await migrate(db, { logger: replay.logger, retentionDays: 30, retention: false });
  assert.equal((await db.query('SELECT 1 FROM gaps')).length, 3);
  assert.equal(
    replay.lines().some((l) => String(l.msg).startsWith('retention')),
    false,
  );
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
    {
      version: 1,
      name: 'a',
      timeSeries: [{ name: 'ticks', timeColumn: 't', definition: 't timestamptz' }],
      sql: 'CREATE TABLE IF NOT EXISTS old_names (x int); CREATE INDEX ticks_t ON ticks (t);',
    },
    { version: 2, name: 'b', sql: 'ALTER TABLE old_names RENAME TO new_names; DROP INDEX IF EXISTS ticks_t; CREATE UNIQUE INDEX "ticks_u" ON ticks (t);' },
  ]);
  assert.deepEqual([...objects].map(([name, m]) => [name, m.version]).sort(), [
    ['new_names', 2],
    ['ticks', 1],
    ['ticks_u', 2],
  ]);
});

/**
 * A database as the previous version left it (migrations 001 and 002): symbol-keyed processor
 * rows of a deployment that ingested USD-M ETHUSDT (its raw trades say so) and spot BTCUSDT, and
 * SOLUSDT whose raw rows have expired.
 */
async function seedVersion2(db: Database): Promise<void> {
  await migrate(db, { logger, retentionDays: 30, migrations: migrations.filter((m) => m.version <= 2) });
  const at = new Date(Date.now() - DAY).toISOString();
  await db.query(
    `INSERT INTO trades (exchange, market, symbol, kind, trade_id, price, quantity, buyer_is_maker, trade_time, event_time, ingestion_timestamp)
     VALUES ('binance', 'usdm', 'ETHUSDT', 'trade', 1, '2612.30', '0.014', false, $1, $1, $1),
            ('binance', 'spot', 'BTCUSDT', 'trade', 1, '61234.56000000', '0.00100000', true, $1, $1, $1)`,
    [at],
  );
  for (const [i, symbol] of ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].entries()) {
    await db.query(
      `INSERT INTO candles VALUES ($1, '1m', $2, $2::timestamptz + interval '1 minute', '1.10', '1.20', '1.00', '1.15', '3.000',
         '3.4500', 2, '1.000', '1.1500', '1.15', 7, 8, '{}', true, true, 42)`,
      [symbol, at],
    );
    await db.query(
      `INSERT INTO trade_metrics VALUES ($1, '1m', $2, $2::timestamptz + interval '1 minute', '1.15', 0.1, 2, '3.000', '3.4500',
         '1.000', '2.000', '0.5', '2.000', '2.3000', '1.10', '1.15', 7, 8, 2, 1.12, 0.01, false, false, false, true, 42)`,
      [symbol, at],
    );
    await db.query(
      `INSERT INTO spread_metrics VALUES ($1, '30s', $2, $2::timestamptz + interval '30 seconds', '0.01', '0.01', '0.01', 0.5,
         '1.155', 4, '0.04', '9.24', 2.0, false, true, 42)`,
      [symbol, at],
    );
    await db.query(`INSERT INTO whale_trades VALUES ($1, 9, $2, '61234.56', '2.5', '153086.40', 'buy')`, [symbol, at]);
    await db.query(`INSERT INTO late_events VALUES ('binance.trades/0', $3, 'candles:1m', $1, $2, 0, 'late', '{}')`, [symbol, at, i]);
  }
}

async function migrationMovesRows(db: Database): Promise<void> {
  await seedVersion2(db);
  const result = await migrate(db, { logger, retentionDays: 30 });
  assert.deepEqual(
    result.applied,
    VERSIONS.filter((v) => v > 2),
  );
  const expected = [
    { exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' },
    { exchange: 'binance', market: 'usdm', symbol: 'ETHUSDT' },
    { exchange: 'binance', market: 'spot', symbol: 'SOLUSDT' },
  ];
  for (const table of ['candles', 'trade_metrics', 'spread_metrics', 'whale_trades', 'late_events']) {
    const rows = await db.query<{ exchange: string; market: string; symbol: string }>(`SELECT exchange, market, symbol FROM ${table} ORDER BY symbol`);
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      expected,
      `${table}: every row kept and given its instrument`,
    );
  }
  const [candle] = await db.query<{ close: string; n: number }>(
    `SELECT close::text AS close, trade_count::int AS n FROM candles WHERE market = 'usdm' AND symbol = 'ETHUSDT'`,
  );
  assert.deepEqual({ ...candle }, { close: '1.15', n: 2 }, 'values survive the move exactly');
  // The new keys: the same symbol and window on another market is another row, not an overwrite.
  const at = new Date(Date.now() - DAY).toISOString();
  await db.query(
    `INSERT INTO candles (exchange, market, symbol, interval, window_start, window_end, open, high, low, close, volume,
       quote_volume, trade_count, taker_buy_volume, taker_buy_quote_volume, vwap, first_trade_id, last_trade_id, indicators,
       is_final, is_complete, source_offset)
     VALUES ('binance', 'usdm', 'BTCUSDT', '1m', $1, $1::timestamptz + interval '1 minute', '2', '2', '2', '2', '1', '2', 1,
       '0', '0', '2', 1, 1, '{}', true, true, 1)`,
    [at],
  );
  await db.query(
    `INSERT INTO whale_trades (exchange, market, symbol, trade_id, trade_time, price, quantity, notional, side)
     VALUES ('binance', 'usdm', 'BTCUSDT', 9, $1, '1', '1', '1', 'buy')`,
    [at],
  );
  const [n] = await db.query<{ candles: number; whales: number }>(
    `SELECT (SELECT count(*)::int FROM candles WHERE symbol = 'BTCUSDT') AS candles,
            (SELECT count(*)::int FROM whale_trades WHERE symbol = 'BTCUSDT') AS whales`,
  );
  assert.deepEqual({ ...n }, { candles: 2, whales: 2 });
  // Without a default, a writer that forgets the instrument fails instead of filing rows under spot.
  await assert.rejects(
    db.query(`INSERT INTO whale_trades (symbol, trade_id, trade_time, price, quantity, notional, side)
    VALUES ('XRPUSDT', 1, now(), '1', '1', '1', 'buy')`),
    /null value in column "(exchange|market)"/,
  );
}

test('embedded: migration 003 moves rows of a version-2 database to their instrument (exchange, market, symbol)', async (t) => {
  await migrationMovesRows(await embedded(t));
});

test('server (partitioned): migration 003 moves rows of a version-2 database to their instrument (exchange, market, symbol)', async (t) => {
  await migrationMovesRows(await server(t));
});
