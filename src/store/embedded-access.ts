import { randomBytes } from 'node:crypto';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ident, literal } from './sql.js';

/** The login role and database external clients (psql, Grafana) use. */
export const CLIENT_ROLE = 'tickflow';
/** The database external clients (psql, Grafana) open. */
export const DATABASE_NAME = 'tickflow';
/** A libpq password file (https://www.postgresql.org/docs/current/libpq-pgpass.html) in the data dir, mode 0600. */
export const PASSWORD_FILE = 'pgpass';

/** How the embedded server admits external clients: data dir, password, session timeouts (ms). */
export interface ClientAccessOptions {
  /** tickflow's data dir (store.dataDir). */
  readonly dataDir: string;
  /** store.embeddedPassword; undefined: the one in the password file, generated on first start. */
  readonly password: string | undefined;
  /** Defaults for external sessions, in ms (0: off): a forgotten `BEGIN` or a runaway query ends on its own. */
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
}

/** The external login: user, database, password and the password file's path. */
export interface ClientAccess {
  readonly user: string;
  readonly database: string;
  readonly password: string;
  /** Absolute path of the password file. */
  readonly passwordFile: string;
}

// pgpass fields escape ":" and "\" with a backslash.
const escapeField = (v: string) => v.replace(/[\\:]/g, (c) => `\\${c}`);
const unescapeField = (v: string) => v.replace(/\\(.)/g, '$1');

async function storedPassword(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const line = text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#'));
  // host:port:database:user:password — the password is whatever follows the fourth unescaped ":".
  const fields = line?.match(/(?:\\.|[^:\\])*/g)?.filter((_, i) => i % 2 === 0);
  return fields && fields.length >= 5 ? unescapeField(fields.slice(4).join(':')) : undefined;
}

/**
 * Makes sure the `tickflow` database and the external login role exist, with the password from
 * config, from the password file, or newly generated (24 random base64url characters) — and
 * writes the password file. The role is not a superuser: it reads and writes rows (pg pre-defined
 * roles pg_read_all_data, pg_write_all_data) but cannot create, alter or drop tables, and its
 * sessions get statement and idle-in-transaction timeouts. tickflow's own sessions use the
 * `postgres` superuser over the Unix socket and have none.
 */
export async function prepareClientAccess(admin: pg.ClientConfig, options: ClientAccessOptions): Promise<ClientAccess> {
  const passwordFile = resolve(join(options.dataDir, PASSWORD_FILE));
  const password = options.password ?? (await storedPassword(passwordFile)) ?? randomBytes(18).toString('base64url');
  const client = new pg.Client({ ...admin, database: 'postgres' });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${ident(DATABASE_NAME)}`);
    const role = ident(CLIENT_ROLE);
    await client.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(CLIENT_ROLE)}) THEN CREATE ROLE ${role} LOGIN; END IF;
      END $$;
      ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 20 PASSWORD ${literal(password)};
      ALTER ROLE ${role} SET statement_timeout = ${literal(`${options.statementTimeoutMs}ms`)};
      ALTER ROLE ${role} SET idle_in_transaction_session_timeout = ${literal(`${options.idleInTransactionTimeoutMs}ms`)};
      GRANT pg_read_all_data, pg_write_all_data TO ${role};
    `);
  } finally {
    await client.end();
  }
  await writeFile(passwordFile, `*:*:*:${escapeField(CLIENT_ROLE)}:${escapeField(password)}\n`, { mode: 0o600 });
  await chmod(passwordFile, 0o600);
  return { user: CLIENT_ROLE, database: DATABASE_NAME, password, passwordFile };
}

/** The line a user pastes to open psql on the embedded database (the password comes from the file, not the screen). */
export function psqlLine(access: ClientAccess, host: string, port: number): string {
  return `PGPASSFILE=${access.passwordFile} psql -h ${host} -p ${port} -U ${access.user} ${access.database}`;
}
