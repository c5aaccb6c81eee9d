import assert from 'node:assert/strict';
import { test } from 'node:test';
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
    // The one REST depth snapshot line is not a stream frame: kept as a dead letter, raw.
    const dead = await db.query<{ reason: string; raw: string }>('SELECT reason, raw FROM dead_letters');
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.reason, 'unknown_stream');
    assert.match(dead[0]!.raw, /"lastUpdateId"/);
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
