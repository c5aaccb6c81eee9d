import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { REPO_ROOT } from './data.js';
import { type Cleanup, freePort } from './kafka.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'services', 'postgres.sh');
const run = promisify(execFile);

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

export interface TlsPostgres {
  readonly port: number;
  /** ca.pem (the CA that signed the server certificate, which is for 127.0.0.1 only), client.pem, client.key. */
  readonly tlsDir: string;
  /** postgres://postgres:<password>@<host>:<port>/postgres?sslmode=<sslmode> */
  url(options: { host?: string; sslmode?: string; password?: string }): string;
}

/**
 * A private PostgreSQL cluster that only speaks TLS over TCP (scripts/services/postgres.sh with
 * TICKFLOW_PG_TLS=1): ssl = on, `hostssl … scram-sha-256 clientcert=verify-ca`, the postgres user's
 * password read from `passwordFile`. Stopped and deleted when the test ends; the shared cluster is
 * not touched.
 */
export async function tlsPostgres(t: Cleanup, password: string, passwordFile: string): Promise<TlsPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-pg-tls-'));
  // The cluster runs as the postgres user, which must reach its folder.
  chmodSync(dir, 0o755);
  const env = { ...process.env, TICKFLOW_PG_DIR: dir, TICKFLOW_PG_PORT: String(port), TICKFLOW_PG_TLS: '1', TICKFLOW_PG_PASSWORD_FILE: passwordFile };
  const script = (command: string) => run('bash', [SCRIPT, command], { env, timeout: 120_000 });
  t.after(async () => {
    await script('stop');
    rmSync(dir, { recursive: true, force: true });
  });
  await script('ensure');
  return {
    port,
    tlsDir: join(dir, 'tls'),
    url: ({ host = '127.0.0.1', sslmode = 'verify-full', password: pw = password }) =>
      `postgres://postgres:${encodeURIComponent(pw)}@${host}:${port}/postgres?sslmode=${sslmode}`,
  };
}
