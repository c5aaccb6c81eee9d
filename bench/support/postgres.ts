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
