import type { Database, Queryable } from './database.js';
import { DDL_LOCK_SQL, ident, literal } from './sql.js';

export type StorageLayout = 'plain' | 'partitioned' | 'timescale';

export interface TimeSeriesEntry {
  readonly table_name: string;
  readonly time_column: string;
  readonly layout: StorageLayout;
}

export interface MaintenanceOptions {
  /** Rows older than this many days are dropped (whole partitions where possible). */
  readonly retentionDays: number;
  /** Daily partitions created ahead of today (default 3). */
  readonly daysAhead?: number;
  readonly now?: Date;
}

export interface MaintenanceResult {
  readonly created: string[];
  readonly dropped: string[];
  /** Expired rows deleted from plain tables and default partitions. */
  readonly deletedRows: number;
}

const DAY_MS = 86_400_000;

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

export async function timeSeriesTables(db: Queryable): Promise<TimeSeriesEntry[]> {
  return db.query<TimeSeriesEntry>('SELECT table_name, time_column, layout FROM time_series_tables ORDER BY table_name');
}

/**
 * Keeps daily partitions from yesterday to `daysAhead` days ahead and drops those past retention;
 * on plain tables (embedded) it deletes expired rows instead, on TimescaleDB its policies do both.
 * Rows outside the prepared days land in the default partition, so an insert is never rejected;
 * when a day's partition is created later, its rows move out of the default first.
 */
export async function maintainPartitions(db: Database, options: MaintenanceOptions): Promise<MaintenanceResult> {
  const now = (options.now ?? new Date()).getTime();
  const today = utcDay(now);
  const cutoffIso = new Date(now - options.retentionDays * DAY_MS).toISOString();
  const result: MaintenanceResult = { created: [], dropped: [], deletedRows: 0 };
  let deleted = 0;
  for (const entry of await timeSeriesTables(db)) {
    if (entry.layout === 'timescale') continue;
    const table = ident(entry.table_name);
    const column = ident(entry.time_column);
    if (entry.layout === 'plain') {
      deleted += await deleteExpired(db, table, column, cutoffIso);
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
      if (day !== undefined && day + DAY_MS <= now - options.retentionDays * DAY_MS) {
        await db.query(`DROP TABLE IF EXISTS ${ident(name)}`);
        result.dropped.push(name);
      }
    }
    deleted += await deleteExpired(db, ident(`${entry.table_name}_default`), column, cutoffIso);
  }
  return { ...result, deletedRows: deleted };
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
