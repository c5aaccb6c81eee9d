import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import type { EmittedReport } from '../../src/simulator/index.js';
import { spawnTickflow } from '../support/cli.js';
import { emittedTradeRanges, readEmbedded, storedTradeRanges, tempDir } from '../support/pipeline.js';
import { freePort } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

async function sim(rest: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(
    `${rest}${path}`,
    body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return res.json();
}

const emittedTrades = (report: EmittedReport) =>
  Object.entries(report)
    .filter(([stream]) => stream.endsWith('@trade'))
    .reduce((n, [, s]) => n + s.count, 0);

/** The password tickflow generated, from the libpq password file it keeps in the data dir. */
async function clientPassword(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'pgpass'), 'utf8')).trim().split(':').slice(4).join(':');
}

test('a psql client holding LOCK TABLE trades for 60 s during a 2,000 msgs/s burst: no reconnect, no gap, every emitted id stored exactly once', async (t) => {
  const dataDir = tempDir();
  const port = await freePort();
  const run = spawnTickflow([
    'run',
    '--source',
    'sim',
    '--symbols',
    SYMBOLS.join(','),
    '--streams',
    'trade',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    `store.embeddedPort=${port}`,
  ]);
  t.after(() => run.child.kill('SIGKILL'));
  const { rest } = JSON.parse(await run.waitForLog(/exchange simulator started in-process/, 120_000)) as { rest: string };
  await run.waitForLog(/accepts PostgreSQL clients/, 120_000);
  await run.waitForLog(/"msg":"connection open"/, 60_000);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'tickflow', database: 'tickflow', password: await clientPassword(dataDir) });
  client.on('error', () => undefined);
  await client.connect();
  t.after(() => client.end().catch(() => undefined));
  const stored = Object.assign(async () => (stored.last = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM trades')).rows[0]!.n)), {
    last: 0,
  });
  await waitFor('the first trades stored', async () => (await stored()) > 0, 60_000);

  // 1,000 trades/s on each of two symbols, one frame each: 2,000 msgs/s.
  await sim(rest, '/sim/faults/burst', { ratePerSec: 1_000, durationMs: 600_000 });
  await client.query('BEGIN');
  await client.query('LOCK TABLE trades');
  const atLock = emittedTrades((await sim(rest, '/sim/emitted')) as EmittedReport);
  // Held for 60 s of the burst, measured by what the simulator emitted meanwhile (120,000 trades).
  await waitFor(
    '120,000 trades emitted while the lock is held',
    async () => emittedTrades((await sim(rest, '/sim/emitted')) as EmittedReport) - atLock >= 120_000,
    600_000,
  );
  await client.query('COMMIT');
  await sim(rest, '/sim/faults/stall', { ms: 600_000 });
  const emitted = (await sim(rest, '/sim/emitted')) as EmittedReport;
  const total = emittedTrades(emitted);
  await waitFor(`all ${total} emitted trades stored`, async () => (await stored()) >= total, { progress: stored }).catch((err: Error) => {
    throw new Error(
      `${err.message} (${stored.last} stored)\n${run
        .stderr()
        .split('\n')
        .filter((l) => !l.includes('"level":20'))
        .slice(-40)
        .join('\n')}`,
    );
  });
  await client.end();
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr().slice(-3000));

  const log = run.stderr();
  assert.equal(log.match(/"msg":"connection open"/g)?.length, 1, 'the source never reconnected');
  await readEmbedded(dataDir, async (db) => {
    const ranges = await storedTradeRanges(db);
    for (const [stream, expected] of emittedTradeRanges(emitted)) {
      assert.deepEqual(ranges.get(stream), expected, `${stream}: stored id ranges equal the emitted ones`);
    }
    const [row] = await db.query<{ n: number; distinct: number; gaps: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (symbol, trade_id))::int AS distinct, (SELECT count(*)::int FROM gaps) AS gaps FROM trades`,
    );
    assert.deepEqual(row, { n: total, distinct: total, gaps: 0 });
  });
});

test('a second tickflow on the same data dir exits 2 with "data dir in use by PID", the first runs on', async (t) => {
  const dataDir = tempDir();
  const args = ['run', '--source', 'sim', '--data-dir', dataDir, '--port', '0', '--set', 'store.embeddedPort=0'];
  const first = spawnTickflow(args);
  t.after(() => first.child.kill('SIGKILL'));
  await first.waitForLog(/"msg":"database ready"/, 120_000);
  const second = spawnTickflow(args);
  t.after(() => second.child.kill('SIGKILL'));
  assert.equal(await second.exited, 2, second.stderr().slice(-2000));
  assert.match(second.stderr(), new RegExp(`TF_DATA_DIR_IN_USE: data dir in use by PID ${first.child.pid}`));
  assert.doesNotMatch(second.stderr(), /Aborted\(\)/);
  await waitFor('the first keeps storing', () => /"msg":"connection open"/.test(first.stderr()), 60_000);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, first.stderr().slice(-2000));
});
