import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';

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
