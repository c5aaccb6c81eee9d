import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { spawnTickflow } from '../support/cli.js';
import { sharedData } from '../support/data.js';
import { readEmbedded, tempDir } from '../support/pipeline.js';

test('tickflow run --source replay:<recording> stores every frame, closes every window, exits by itself, and a later start keeps the 2024 rows (retention)', async (t) => {
  const file = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!file) return;
  const dataDir = tempDir();
  const run = spawnTickflow(['run', '--source', `replay:${file}`, '--data-dir', dataDir, '--port', '0', '--set', 'store.embeddedPort=0']);
  t.after(() => run.child.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));
  assert.match(run.stderr(), /source finished: every event stored and every window closed/);

  await readEmbedded(dataDir, async (db) => {
    const count = async (sql: string) => (await db.query<{ n: number }>(sql))[0]!.n;
    // The counts of the recording itself (see test/sources/binance/parse.test.ts).
    assert.equal(await count("SELECT count(*)::int AS n FROM trades WHERE kind = 'trade'"), 9757);
    assert.equal(await count('SELECT count(*)::int AS n FROM book_ticker'), 28040);
    assert.equal(await count('SELECT count(*)::int AS n FROM depth_updates'), 3451);
    // The one REST depth snapshot line is recognised and kept for the order book, not dead-lettered.
    assert.equal(await count('SELECT count(*)::int AS n FROM dead_letters'), 0);
    assert.equal(await count("SELECT count(*)::int AS n FROM depth_snapshots WHERE symbol = 'BTCUSDT' AND last_update_id = 50093239218"), 1);
    assert.equal(await count('SELECT count(*)::int AS n FROM gaps'), 0);
    // The file ends at local midnight: its last minute is closed as final when the file ends.
    const open = await count("SELECT count(*)::int AS n FROM candles WHERE interval = '1m' AND NOT is_final");
    assert.equal(open, 0);
    assert.ok((await count("SELECT count(*)::int AS n FROM candles WHERE interval = '1m'")) >= 5);
  });

  // Starting again on that data dir (live, today) must not expire the replayed history: retention
  // counts back from the newest stored row, and logs whatever it deletes.
  const again = spawnTickflow(['run', '--source', 'sim', '--data-dir', dataDir, '--port', '0', '--set', 'store.embeddedPort=0']);
  t.after(() => again.child.kill('SIGKILL'));
  await again.waitForLog(/"msg":"database ready"/, 120_000);
  again.child.kill('SIGTERM');
  assert.equal(await again.exited, 0, again.stderr().slice(-2000));
  assert.doesNotMatch(again.stderr(), /retention deleted/);
  await readEmbedded(dataDir, async (db) => {
    assert.deepEqual(await db.query("SELECT count(*)::int AS n FROM trades WHERE kind = 'trade' AND trade_time < '2025-01-01'"), [{ n: 9757 }]);
  });
});

test('kind 9 (replay robustness): a truncated recording stores what was read, says what is wrong and exits non-zero', async (t) => {
  const file = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!file) return;
  const dataDir = tempDir();
  const packed = readFileSync(file);
  const cut = join(dataDir, 'truncated.gz');
  writeFileSync(cut, packed.subarray(0, Math.floor(packed.length / 2)));
  const run = spawnTickflow(['run', '--source', `replay:${cut}`, '--data-dir', dataDir, '--port', '0', '--set', 'store.embeddedPort=0']);
  t.after(() => run.child.kill('SIGKILL'));
  assert.equal(await run.exited, 1, run.stderr().slice(-2000));
  assert.match(run.stderr(), /replay failed.*truncated\.gz: cannot read recording after line \d+: unexpected end of file/);
  await readEmbedded(dataDir, async (db) => {
    const trades = (await db.query<{ n: number; last: string }>("SELECT count(*)::int AS n, max(trade_id)::text AS last FROM trades WHERE kind = 'trade'"))[0]!;
    // Everything before the cut is stored, contiguous from the recording's first trade id.
    assert.ok(trades.n > 1000 && trades.n < 9757, `${trades.n} trades`);
    assert.equal(Number(trades.last) - 3735683259 + 1, trades.n);
  });
});

test('kind 3 (microsecond times): a timeUnit=MICROSECOND recording keeps µs in the database and buckets candles by them', async (t) => {
  const dataDir = tempDir();
  const file = join(dataDir, 'micros.txt');
  // Spot trades as Binance sends them with timeUnit=MICROSECOND, around a minute boundary.
  const trade = (ns: bigint, t: number, tUs: number, p: string) =>
    `${ns} {"stream":"btcusdt@trade","data":{"e":"trade","E":${tUs + 700},"s":"BTCUSDT","t":${t},"p":"${p}","q":"0.01000000","T":${tUs},"m":false,"M":true}}`;
  const lines = [
    trade(1723161598000000000n, 100, 1723161599999499, '61000.00000000'), // 23:59:59.999499
    trade(1723161598100000000n, 101, 1723161599999999, '61001.00000000'), // 23:59:59.999999: still the 23:59 minute
    trade(1723161598200000000n, 102, 1723161600000001, '61002.00000000'), // 00:00:00.000001: the next minute
    trade(1723161598300000000n, 103, 1723161600500000, '61003.00000000'),
    // A millisecond time in a microsecond recording reads as January 1970: implausible, a dead letter.
    trade(1723161598400000000n, 104, 1723161600500, '61004.00000000'),
  ];
  writeFileSync(file, gzipSync(lines.join('\n')));
  const run = spawnTickflow([
    'run',
    '--source',
    `replay:${file}`,
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    'store.embeddedPort=0',
    '--set',
    'source.timeUnit=MICROSECOND',
  ]);
  t.after(() => run.child.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));
  await readEmbedded(dataDir, async (db) => {
    const trades = await db.query<{ t: string }>(`SELECT to_char(trade_time AT TIME ZONE 'UTC', 'HH24:MI:SS.US') AS t FROM trades ORDER BY trade_id`);
    assert.deepEqual(
      trades.map((r) => r.t),
      ['23:59:59.999499', '23:59:59.999999', '00:00:00.000001', '00:00:00.500000'],
    );
    const candles = await db.query<{ start: string; n: number; open: string; close: string }>(
      `SELECT to_char(window_start AT TIME ZONE 'UTC', 'HH24:MI') AS start, trade_count::int AS n, open::text AS open, close::text AS close
       FROM candles WHERE interval = '1m' ORDER BY window_start`,
    );
    assert.deepEqual(candles, [
      { start: '23:59', n: 2, open: '61000.00000000', close: '61001.00000000' },
      { start: '00:00', n: 2, open: '61002.00000000', close: '61003.00000000' },
    ]);
    const dead = await db.query<{ reason: string }>('SELECT reason FROM dead_letters');
    assert.deepEqual(
      dead.map((d) => d.reason),
      ['implausible_time'],
    );
  });
});
