/**
 * One schema version. `sql` runs once, in one transaction, on every kind of database. Tables that
 * grow with time are declared in `timeSeries` instead of `sql`: the migration runner creates them
 * as TimescaleDB hypertables, as native daily partitions or as plain tables (embedded), depending
 * on the database (docs/storage.md), and `maintainPartitions` keeps their partitions and
 * retention. Indexes on them belong in `sql`, which runs after the tables exist.
 */
export interface Migration {
  /** Strictly increasing; the file is named after it (`002-processing.ts`). */
  readonly version: number;
  readonly name: string;
  readonly timeSeries?: readonly TimeSeriesTable[];
  readonly sql?: string;
}

/**
 * A table partitioned by day (or a TimescaleDB hypertable, or a plain table on the embedded store) and
 * expired by its time column.
 */
export interface TimeSeriesTable {
  readonly name: string;
  /** The TIMESTAMPTZ column rows are partitioned and expired by; every unique constraint must include it. */
  readonly timeColumn: string;
  /** Column definitions and table constraints, as inside `CREATE TABLE name ( ... )`. */
  readonly definition: string;
  /** The column compressed chunks are segmented by on TimescaleDB (default `symbol`). */
  readonly segmentBy?: string;
}
