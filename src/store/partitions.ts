import type { Logger } from '../ops/logger.js';
import type { Database, Queryable } from './database.js';
import { DDL_LOCK_SQL, ident, literal } from './sql.js';

/** How time-series tables are kept: daily partitions, TimescaleDB hypertables, or plain tables. */
export type StorageLayout = 'plain' | 'partitioned' | 'timescale';

/** A row of time_series_tables: the table, its time column and layout. */
export interface TimeSeriesEntry {
  readonly table_name: string;
  readonly time_column: string;
  readonly layout: StorageLayout;
}

/** How maintainPartitions keeps the tables: retention (days, or off), days prepared ahead, logger, clock. */
export interface MaintenanceOptions {
  /**
   * Rows more than this many days older than the newest stored row are dropped (whole partitions
   * where possible); `off` keeps everything (replays).
   */
  readonly retentionDays: number | 'off';
  /** Every drop is logged: table, rows or partitions, the cutoff and the newest stored time. */
  readonly logger: Logger;
  /** Daily partitions created ahead of today (default 3). */
  readonly daysAhead?: number;
  readonly now?: Date;
}

/** Partitions created and dropped, and rows deleted, by one maintenance run. */
export interface MaintenanceResult {
  readonly created: string[];
  readonly dropped: string[];
  /** Expired rows deleted from plain tables and default partitions. */
  readonly deletedRows: number;
}

const DAY_MS = 86_400_000;

/**
 * Retention is off while replaying a recording (`source.kind` `replay:<file>`): a replay stores
 * history on purpose, and counting back even from its newest row would drop older files' rows.
 */
export function retentionApplies(config: { readonly source: { readonly kind: string } }): boolean {
  return !config.source.kind.startsWith('replay:');
}

function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `trades_p20261121`: the partition holding 2026-11-21 UTC. */
export function partitionName(table: string, dayStartMs: number): string {
  return `${table}_p${new Date(dayStartMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

function dayOfPartition(table: string, name: string): number | undefined {
  const m = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}

/**
 * The time-series tables as migrations registered them (time_series_tables): name, time column and
 * layout (`partitioned`, `timescale` or `plain`), by name. Errors are the database's.
 */
export async function timeSeriesTables(db: Queryable): Promise<TimeSeriesEntry[]> {
  return db.query<TimeSeriesEntry>('SELECT table_name, time_column, layout FROM time_series_tables ORDER BY table_name');
}

/**
 * Keeps daily partitions from yesterday to `daysAhead` days ahead and drops those past retention,
 * counted from the newest stored row (or today, when that is later), and logs every drop;
 * on plain tables (embedded) it deletes expired rows instead, on TimescaleDB its policies do both.
 * Rows outside the prepared days land in the default partition, so an insert is never rejected;
 * when a day's partition is created later, its rows move out of the default first.
 */
export async function maintainPartitions(db: Database, options: MaintenanceOptions): Promise<MaintenanceResult> {
  const now = (options.now ?? new Date()).getTime();
  const today = utcDay(now);
  const tables = await timeSeriesTables(db);
  const newest = options.retentionDays === 'off' ? undefined : await newestStored(db, tables);
  // Counted back from the newest stored row, not from today: a replayed 2024 recording is not "expired".
  const cutoff = newest === undefined || options.retentionDays === 'off' ? undefined : Math.min(now, newest) - options.retentionDays * DAY_MS;
  const cutoffIso = cutoff === undefined ? undefined : new Date(cutoff).toISOString();
  const result: MaintenanceResult = { created: [], dropped: [], deletedRows: 0 };
  let deleted = 0;
  const expire = async (entry: TimeSeriesEntry, table: string): Promise<void> => {
    if (cutoffIso === undefined) return;
    const n = await deleteExpired(db, table, ident(entry.time_column), cutoffIso);
    if (n > 0)
      options.logger.info({ table: entry.table_name, rows: n, olderThan: cutoffIso, newestStored: new Date(newest!).toISOString() }, 'retention deleted rows');
    deleted += n;
  };
  for (const entry of tables) {
    if (entry.layout === 'timescale') continue;
    const table = ident(entry.table_name);
    const column = ident(entry.time_column);
    if (entry.layout === 'plain') {
      await expire(entry, table);
      continue;
    }
    const existing = await partitionsOf(db, entry.table_name);
    for (let day = today - DAY_MS; day <= today + (options.daysAhead ?? 3) * DAY_MS; day += DAY_MS) {
      const name = partitionName(entry.table_name, day);
      if (existing.has(name)) continue;
      await db.transaction(async (tx) => {
        await tx.query(DDL_LOCK_SQL);
        if ((await partitionsOf(tx, entry.table_name)).has(name)) return;
        const from = literal(new Date(day).toISOString());
        const to = literal(new Date(day + DAY_MS).toISOString());
        const defaultPartition = ident(`${entry.table_name}_default`);
        await tx.query(`CREATE TABLE ${ident(name)} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await tx.query(
          `WITH moved AS (DELETE FROM ${defaultPartition} WHERE ${column} >= ${from} AND ${column} < ${to} RETURNING *)
           INSERT INTO ${ident(name)} SELECT * FROM moved`,
        );
        await tx.query(`ALTER TABLE ${table} ATTACH PARTITION ${ident(name)} FOR VALUES FROM (${from}) TO (${to})`);
      });
      result.created.push(name);
    }
    for (const name of existing) {
      const day = dayOfPartition(entry.table_name, name);
      if (cutoff !== undefined && day !== undefined && day + DAY_MS <= cutoff) {
        await db.query(`DROP TABLE IF EXISTS ${ident(name)}`);
        options.logger.info(
          { table: entry.table_name, partition: name, olderThan: cutoffIso, newestStored: new Date(newest!).toISOString() },
          'retention dropped a partition',
        );
        result.dropped.push(name);
      }
    }
    await expire(entry, ident(`${entry.table_name}_default`));
  }
  return { ...result, deletedRows: deleted };
}

/** Epoch ms of the newest row across the time-series tables; undefined when they are empty. */
async function newestStored(db: Queryable, tables: readonly TimeSeriesEntry[]): Promise<number | undefined> {
  if (tables.length === 0) return undefined;
  const parts = tables.map((t) => `SELECT max(${ident(t.time_column)}) AS t FROM ${ident(t.table_name)}`);
  const rows = await db.query<{ ms: number | string | null }>(`SELECT (extract(epoch FROM max(t)) * 1000)::bigint AS ms FROM (${parts.join(' UNION ALL ')}) s`);
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Number(ms);
}

async function partitionsOf(db: Queryable, table: string): Promise<Set<string>> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
    [table],
  );
  return new Set(rows.map((r) => r.name));
}

async function deleteExpired(db: Queryable, table: string, column: string, cutoffIso: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM ${table} WHERE ${column} < $1::timestamptz RETURNING 1) SELECT count(*) AS n FROM gone`,
    [cutoffIso],
  );
  return rows[0]?.n ?? 0;
}
