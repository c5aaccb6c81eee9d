import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TradeEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres.js';
import { TABLE_WRITES } from '../../src/store/rows.js';

/** The URL of the PostgreSQL server of scripts/services/postgres.sh, started when down. */
export function serverUrl(): string {
  const script = join(import.meta.dirname, '..', '..', 'scripts', 'services', 'postgres.sh');
  execFileSync('bash', [script, 'ensure'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return execFileSync('bash', [script, 'url'], { encoding: 'utf8' }).trim();
}

/**
 * `psql \copy table (columns) FROM file` (CSV) into the database at `url`: the ceiling the store
 * benchmarks compare with. Resolves with the seconds it took.
 */
export function psqlCopyIn(url: string, table: string, columns: readonly string[], file: string): number {
  const started = performance.now();
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy ${table} (${columns.map((c) => `"${c}"`).join(', ')}) FROM '${file}' WITH (FORMAT csv)`]);
  return (performance.now() - started) / 1000;
}

/** `psql \copy (query) TO file` (CSV) from the database at `url`. */
export function psqlCopyOut(url: string, query: string, file: string): void {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy (${query}) TO '${file}' WITH (FORMAT csv)`]);
}

/** Runs `fn` on a fresh database of `server`, dropped afterwards. */
export async function withDatabase<T>(server: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `tickflow_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

const trades = TABLE_WRITES.find((w) => w.table === 'trades')!;

/** The trades as the CSV `\copy` reads: the store writer's own column values, in its column order. */
export function tradesCsv(events: readonly TradeEvent[]): string {
  const columns = trades.params(events) as unknown[][];
  const lines: string[] = [];
  for (let r = 0; r < events.length; r++) {
    lines.push(columns.map((c) => (c[r] === null ? '' : c[r] === true ? 't' : c[r] === false ? 'f' : String(c[r]))).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The store benchmarks' ceiling: `psql \copy` of `events` as one CSV file into the migrated
 * `trades` table of the database at `url` (no conflict handling, one commit). Returns seconds, of
 * psql alone (the file is written before the clock starts).
 */
export async function psqlCopyTrades(url: string, events: readonly TradeEvent[]): Promise<number> {
  const db = await openPostgres(url, { logger: silentLogger() });
  await migrate(db, { logger: silentLogger(), retentionDays: 30 });
  await db.close();
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-bench-'));
  try {
    const file = join(dir, 'trades.csv');
    await writeFile(file, tradesCsv(events));
    return psqlCopyIn(url, 'trades', trades.columns, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
