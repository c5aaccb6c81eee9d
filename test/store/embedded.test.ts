import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';
import { silentLogger } from '../../src/ops/logger.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { freePort } from './fixtures.js';

const run = promisify(execFile);
const logger = silentLogger();

/** The real psql binary (from the PostgreSQL packages scripts/services/postgres.sh installs). */
async function psql(port: number, sql: string): Promise<string> {
  const { stdout } = await run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'template1', '-At', '-c', sql], {
    env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
  });
  return stdout.trim();
}

test('psql connects to the embedded database while tickflow writes, and data persists across reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-pglite-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const db = await openEmbedded({ dataDir: dir, port, logger });
  let open = true;
  t.after(async () => {
    if (open) await db.close();
  });
  assert.deepEqual(db.socketAddress, { host: '127.0.0.1', port });
  await migrate(db, { logger, retentionDays: 30 });

  const insert = (i: number) =>
    db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', $1, $1, now(), 'sequence')`,
        [i],
      );
      await tx.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'ETHUSDT', 'trade', $1, $1, now(), 'sequence')`, [i]);
    });
  // psql reads while our transactions run: it must only ever see whole transactions (an even count).
  const writes = (async () => {
    for (let i = 0; i < 40; i++) await insert(i);
  })();
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) seen.push(Number(await psql(port, 'SELECT count(*) FROM gaps')));
  await writes;
  for (const n of seen) assert.equal(n % 2, 0, `psql saw half a transaction (${n} rows)`);
  assert.equal(await psql(port, 'SELECT count(*) FROM gaps'), '80');
  assert.equal(await psql(port, "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM time_series_tables WHERE layout = 'plain'").then((s) => s.includes('trades')), true);

  await db.close();
  open = false;
  const reopened = await openEmbedded({ dataDir: dir, port: 0, logger });
  t.after(() => reopened.close());
  assert.deepEqual(await reopened.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps'), [{ n: 80 }]);
});

test('a socket client holding a transaction open neither sees nor swallows tickflow statements', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-pglite-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const db = await openEmbedded({ dataDir: dir, port, logger });
  t.after(() => db.close());
  await migrate(db, { logger, retentionDays: 30 });

  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'template1' });
  await client.connect();
  t.after(() => client.end());
  await client.query('BEGIN');
  await client.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'ETHUSDT', 'trade', 1, 1, now(), 'sequence')`);
  // Ours must wait for the client's transaction instead of running inside it (and being rolled back with it).
  let ours = false;
  const write = db.query(`INSERT INTO gaps VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 2, 2, now(), 'sequence')`).then(() => {
    ours = true;
  });
  const inside = await client.query<{ n: string }>('SELECT count(*) AS n FROM gaps');
  assert.equal(inside.rows[0]?.n, '1');
  assert.equal(ours, false);
  await client.query('ROLLBACK');
  await write;
  const after = await db.query<{ symbol: string }>('SELECT symbol FROM gaps');
  assert.deepEqual(after, [{ symbol: 'BTCUSDT' }]);
});
