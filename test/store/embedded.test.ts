import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { silentLogger } from '../../src/ops/logger.js';
import { openEmbedded, type EmbeddedDatabase } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { tempDir } from '../support/pipeline.js';
import { freePort } from './fixtures.js';

const run = promisify(execFile);
const logger = silentLogger();

/** The real psql binary (from the PostgreSQL packages scripts/services/postgres.sh installs), as a user pastes it. */
async function psql(db: EmbeddedDatabase, sql: string, env: Record<string, string> = { PGPASSFILE: db.clients.passwordFile }): Promise<string> {
  const { host, port } = db.socketAddress!;
  const { stdout } = await run('psql', ['-h', host, '-p', String(port), '-U', 'tickflow', '-d', 'tickflow', '-w', '-At', '-c', sql], {
    env: { PATH: process.env.PATH ?? '', PGCONNECT_TIMEOUT: '10', ...env },
  });
  return stdout.trim();
}

async function open(t: { after: (fn: () => Promise<void>) => void }, dataDir: string, port = 0): Promise<EmbeddedDatabase> {
  const db = await openEmbedded({ dataDir, port, logger });
  t.after(() => db.close());
  return db;
}

test('embedded: psql connects with the generated password file, sees only whole transactions, and data persists across reopen', async (t) => {
  const dir = tempDir();
  const db = await openEmbedded({ dataDir: dir, port: await freePort(), logger });
  assert.equal(db.socketAddress?.host, '127.0.0.1');
  assert.equal((await stat(db.clients.passwordFile)).mode & 0o777, 0o600);
  assert.match(await readFile(db.clients.passwordFile, 'utf8'), /^\*:\*:\*:tickflow:[A-Za-z0-9_-]{24}\n$/);
  await migrate(db, { logger, retentionDays: 30 });

  const insert = (i: number) =>
    db.transaction(async (tx) => {
      await tx.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', $1, $1, now(), 'sequence')`, [i]);
      await tx.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'ETHUSDT', 'trade', $1, $1, now(), 'sequence')`, [i]);
    });
  const writes = (async () => {
    for (let i = 0; i < 40; i++) await insert(i);
  })();
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) seen.push(Number(await psql(db, 'SELECT count(*) FROM gaps')));
  await writes;
  for (const n of seen) assert.equal(n % 2, 0, `psql saw half a transaction (${n} rows)`);
  assert.equal(await psql(db, 'SELECT count(*) FROM gaps'), '80');
  const password = db.clients.password;
  await db.close();

  const reopened = await open(t, dir);
  assert.equal(reopened.clients.password, password, 'the password is kept in the data dir, not regenerated');
  assert.deepEqual(await reopened.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps'), [{ n: 80 }]);
});

test('embedded access kind: no password, a wrong one or a non-loopback address is refused; clients cannot drop tables and get timeouts, tickflow does not', async (t) => {
  const db = await open(t, tempDir(), await freePort());
  await migrate(db, { logger, retentionDays: 30 });
  await assert.rejects(psql(db, 'SELECT 1', {}), /password|authentication/i);
  await assert.rejects(psql(db, 'SELECT 1', { PGPASSWORD: 'not-the-password' }), /password authentication failed/);
  await assert.rejects(
    psql(db, 'SELECT 1', { PGPASSWORD: db.clients.password, PGUSER: 'postgres' }).then(() => psql(db, 'SELECT 1', { PGPASSWORD: 'x' })),
    /password/,
  );
  assert.equal(await psql(db, 'SELECT count(*) FROM trades'), '0');
  await assert.rejects(psql(db, 'DROP TABLE trades'), /must be owner/);
  await assert.rejects(psql(db, 'CREATE TABLE mine (x int)'), /permission denied/);
  assert.equal(await psql(db, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user'), 'f');
  assert.equal(await psql(db, 'SHOW statement_timeout'), '1min');
  assert.equal(await psql(db, 'SHOW idle_in_transaction_session_timeout'), '2min');
  assert.deepEqual(await db.query('SHOW statement_timeout'), [{ statement_timeout: '0' }]);
  assert.deepEqual(await db.query("SELECT setting FROM pg_settings WHERE name = 'listen_addresses'"), [{ setting: '127.0.0.1' }]);
});

test('embedded: a client holding LOCK TABLE in an open transaction stalls neither the event loop nor tickflow statements on other tables', async (t) => {
  const db = await open(t, tempDir(), await freePort());
  await migrate(db, { logger, retentionDays: 30 });
  const client = new pg.Client({ host: '127.0.0.1', port: db.socketAddress!.port, user: 'tickflow', database: 'tickflow', password: db.clients.password });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE trades');
  // Writes to the locked table wait in the server, not in our process.
  let written = false;
  const write = db
    .query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 1, 1, now(), 'sequence')`)
    .then(() => db.query("SELECT 1 FROM trades WHERE symbol = 'x'"))
    .then(() => (written = true));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  t.after(() => clearInterval(timer));
  while (ticks < 20) {
    assert.deepEqual(await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps WHERE symbol = $1', ['BTCUSDT']).then((r) => r.length), 1);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(written, false, 'the statement on the locked table waits for the lock');
  await client.query('COMMIT');
  await client.end();
  await write;
  assert.equal(written, true);
});

test('one process per data dir: a second open gets "data dir in use by PID", the first keeps working', async (t) => {
  const dir = tempDir();
  const db = await open(t, dir);
  await assert.rejects(openEmbedded({ dataDir: dir, port: 0, logger }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TF_DATA_DIR_IN_USE');
    assert.match(err.message, new RegExp(`data dir in use by PID ${process.pid}`));
    return true;
  });
  assert.deepEqual(await db.query('SELECT 1 AS one'), [{ one: 1 }]);
});

test('a damaged embedded database gets a message saying what to do', async (t) => {
  const dir = tempDir();
  const db = await openEmbedded({ dataDir: dir, port: 0, logger });
  await db.close();
  await truncate(join(dir, 'postgres', 'global', 'pg_control'), 0);
  await assert.rejects(open(t, dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TF_STORE_DAMAGED');
    assert.match(err.message, /does not start: .*pg_control.*restore .* from a backup, or move it aside/s);
    assert.doesNotMatch(err.message, /Aborted\(\)/);
    return true;
  });
});
