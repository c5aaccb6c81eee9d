import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { REPO_ROOT } from './data.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'services', 'postgres.sh');

let cachedUrl: string | undefined;

/**
 * The URL of the test PostgreSQL server started by scripts/services/postgres.sh (which `npm test`
 * runs first; calling `ensure` again here is quick when the server is up).
 */
export function postgresUrl(): string {
  if (cachedUrl === undefined) {
    execFileSync('bash', [SCRIPT, 'ensure'], { stdio: ['ignore', 'ignore', 'inherit'] });
    cachedUrl = execFileSync('bash', [SCRIPT, 'url'], { encoding: 'utf8' }).trim();
  }
  return cachedUrl;
}

/** A database of its own for one test, dropped (with any connections left) when the test ends. */
export async function freshDatabase(t: TestContext): Promise<string> {
  const server = postgresUrl();
  const name = `tickflow_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  t.after(async () => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}
