import { errorMessage } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';
import type { Database, Queryable } from './database.js';
import { migrations as allMigrations, type Migration, type TimeSeriesTable } from './migrations/index.js';
import { maintainPartitions, type StorageLayout } from './partitions.js';
import { DDL_LOCK_SQL, ident, literal } from './sql.js';

export interface MigrateOptions {
  readonly logger: Logger;
  readonly retentionDays: number;
  /** Defaults to every migration in migrations/index.ts. */
  readonly migrations?: readonly Migration[];
}

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
  await maintainPartitions(db, { retentionDays: options.retentionDays });
  return { layout, applied };
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

async function createTimeSeries(
  tx: Queryable,
  table: TimeSeriesTable,
  wanted: StorageLayout,
  retentionDays: number,
  logger: Logger,
): Promise<void> {
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
    await tx.query(`SELECT create_hypertable(${literal(table.name)}, ${literal(table.timeColumn)}, chunk_time_interval => interval '1 day', if_not_exists => true)`);
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
  await tx.query(
    'INSERT INTO time_series_tables (table_name, time_column, layout) VALUES ($1, $2, $3) ON CONFLICT (table_name) DO NOTHING',
    [table.name, table.timeColumn, layout],
  );
}
