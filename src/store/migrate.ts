import { errorMessage } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';
import type { Database, Queryable } from './database.js';
import { migrations as allMigrations, type Migration, type TimeSeriesTable } from './migrations/index.js';
import { maintainPartitions, type StorageLayout } from './partitions.js';
import { StoreError } from './errors.js';
import { DDL_LOCK_SQL, ident, literal } from './sql.js';

/** How migrate runs: logger, retention (days; off for replays), the migrations to apply. */
export interface MigrateOptions {
  readonly logger: Logger;
  readonly retentionDays: number;
  /** false keeps every row at start-up (replays); default true. */
  readonly retention?: boolean;
  /** Defaults to every migration in migrations/index.ts. */
  readonly migrations?: readonly Migration[];
}

/** The storage layout chosen (partitioned, timescale or plain) and the migration versions this call applied. */
export interface MigrateResult {
  readonly layout: StorageLayout;
  /** Versions applied by this call (empty when the schema was current). */
  readonly applied: number[];
}

const BOOKKEEPING = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE TABLE IF NOT EXISTS time_series_tables (
    table_name text PRIMARY KEY,
    time_column text NOT NULL,
    layout text NOT NULL CHECK (layout IN ('plain', 'partitioned', 'timescale'))
  );
`;

/**
 * Brings the schema to the latest version, one transaction per migration, and prepares the
 * partitions. Safe to run from several processes at once and again on every start.
 */
export async function migrate(db: Database, options: MigrateOptions): Promise<MigrateResult> {
  const logger = options.logger.child({ component: 'store' });
  const layout = await chooseLayout(db);
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    await tx.query(DDL_LOCK_SQL);
    await tx.query(BOOKKEEPING);
  });
  for (const migration of options.migrations ?? allMigrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query(DDL_LOCK_SQL);
      const rows = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
      if (rows.length > 0) return false;
      for (const table of migration.timeSeries ?? []) await createTimeSeries(tx, table, layout, options.retentionDays, logger);
      if (migration.sql) await tx.query(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) {
      applied.push(migration.version);
      logger.info({ version: migration.version, name: migration.name, layout }, 'schema migration applied');
    }
  }
  await checkRecordedObjects(db, options.migrations ?? allMigrations);
  await maintainPartitions(db, { retentionDays: options.retention === false ? 'off' : options.retentionDays, logger });
  return { layout, applied };
}

const CREATES =
  /\bCREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?/gi;
const DROPS = /\bDROP\s+(?:TABLE|INDEX|VIEW|MATERIALIZED\s+VIEW)\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?/gi;
const RENAMES = /\bALTER\s+(?:TABLE|INDEX|VIEW)\s+(?:IF\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?\s+RENAME\s+TO\s+"?([A-Za-z_][A-Za-z0-9_]*)"?/gi;

/** The tables, indexes and views the given migrations leave behind, each with the migration that made it. */
export function recordedObjects(migrations: readonly Migration[]): Map<string, Migration> {
  const objects = new Map<string, Migration>();
  for (const migration of migrations) {
    for (const table of migration.timeSeries ?? []) objects.set(table.name.toLowerCase(), migration);
    const sql = migration.sql ?? '';
    for (const m of sql.matchAll(CREATES)) objects.set(m[1]!.toLowerCase(), migration);
    for (const m of sql.matchAll(DROPS)) objects.delete(m[1]!.toLowerCase());
    for (const m of sql.matchAll(RENAMES)) {
      if (objects.delete(m[1]!.toLowerCase())) objects.set(m[2]!.toLowerCase(), migration);
    }
  }
  return objects;
}

/**
 * A migration recorded as applied whose objects are gone (a table dropped by hand) would make
 * every write fail forever; start-up stops instead and names what is missing and what to do.
 *
 * @throws StoreError `TF_STORE_WRITE` (not retryable) listing the missing objects.
 */
async function checkRecordedObjects(db: Database, migrations: readonly Migration[]): Promise<void> {
  const applied = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
  const objects = recordedObjects(migrations.filter((m) => applied.has(m.version)));
  if (objects.size === 0) return;
  const missing = await db.query<{ name: string }>('SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(quote_ident(name)) IS NULL ORDER BY name', [
    [...objects.keys()],
  ]);
  if (missing.length === 0) return;
  const list = missing.map((r) => `${r.name} (migration ${objects.get(r.name)!.version} ${objects.get(r.name)!.name})`).join(', ');
  throw new StoreError(
    `the database is missing ${list}, recorded as created. Restore it from a backup; or, to start over empty, ` +
      'stop tickflow and move the embedded data dir aside (a server: drop the remaining tickflow tables and schema_migrations), then start again.',
    { canRetry: false },
  );
}

/** Embedded: plain tables. Server: TimescaleDB when it is installed, else native partitions. */
async function chooseLayout(db: Database): Promise<StorageLayout> {
  if (db.kind === 'embedded') return 'plain';
  const available = await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (available.length === 0) return 'partitioned';
  try {
    // Fails when the library is installed but not in shared_preload_libraries.
    await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    return 'timescale';
  } catch {
    return 'partitioned';
  }
}

async function createTimeSeries(tx: Queryable, table: TimeSeriesTable, wanted: StorageLayout, retentionDays: number, logger: Logger): Promise<void> {
  // A table keeps the layout it was created with (e.g. TimescaleDB installed later).
  const known = await tx.query<{ layout: StorageLayout }>('SELECT layout FROM time_series_tables WHERE table_name = $1', [table.name]);
  const layout = known[0]?.layout ?? wanted;
  const name = ident(table.name);
  const column = ident(table.timeColumn);
  if (layout === 'partitioned') {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${name} (${table.definition}) PARTITION BY RANGE (${column})`);
    await tx.query(`CREATE TABLE IF NOT EXISTS ${ident(`${table.name}_default`)} PARTITION OF ${name} DEFAULT`);
  } else {
    await tx.query(`CREATE TABLE IF NOT EXISTS ${name} (${table.definition})`);
  }
  if (layout === 'timescale') {
    const retention = literal(`${retentionDays} days`);
    await tx.query(
      `SELECT create_hypertable(${literal(table.name)}, ${literal(table.timeColumn)}, chunk_time_interval => interval '1 day', if_not_exists => true)`,
    );
    await tx.query(`SELECT add_retention_policy(${literal(table.name)}, ${retention}::interval, if_not_exists => true)`);
    // Compression saves space but is optional: a table whose keys TimescaleDB cannot compress stays uncompressed.
    await tx.query('SAVEPOINT compression');
    try {
      await tx.query(`ALTER TABLE ${name} SET (timescaledb.compress, timescaledb.compress_segmentby = ${literal(table.segmentBy ?? 'symbol')})`);
      await tx.query(`SELECT add_compression_policy(${literal(table.name)}, interval '2 days', if_not_exists => true)`);
      await tx.query('RELEASE SAVEPOINT compression');
    } catch (err) {
      await tx.query('ROLLBACK TO SAVEPOINT compression');
      logger.warn({ table: table.name, err: errorMessage(err) }, 'TimescaleDB compression not enabled for this table');
    }
  }
  await tx.query('INSERT INTO time_series_tables (table_name, time_column, layout) VALUES ($1, $2, $3) ON CONFLICT (table_name) DO NOTHING', [
    table.name,
    table.timeColumn,
    layout,
  ]);
}
