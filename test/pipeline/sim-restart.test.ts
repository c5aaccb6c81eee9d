import assert from 'node:assert/strict';
import { test } from 'node:test';
import { simRunArgs, spawnTickflow } from '../support/cli.js';
import { readEmbedded, storedTradeRanges, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

/** `tickflow run --source sim` on `dataDir` until it stored `rows` more trades, then SIGTERM. */
async function runSimUntilStored(dataDir: string, rows: number): Promise<void> {
  const run = spawnTickflow(simRunArgs(dataDir, 'BTCUSDT,ETHUSDT', 'trade,aggTrade'));
  try {
    const url = (JSON.parse(await run.waitForLog(/dashboard and API listening/, 180_000)) as { url: string }).url;
    const written = async (): Promise<number> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^tickflow_rows_written_total\{table="trades"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await waitFor(`${rows} trades stored`, async () => (await written()) >= rows, { progress: written });
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr().slice(-2000));
  } finally {
    run.child.kill('SIGKILL');
  }
}

test('issue 9 kind 12 (simulator restarts): --source sim restarted on the same data dir continues the ids, never re-sends old ones', async () => {
  const dataDir = tempDir();
  await runSimUntilStored(dataDir, 400);
  const first = await readEmbedded(dataDir, storedTradeRanges);
  await runSimUntilStored(dataDir, 400);
  await readEmbedded(dataDir, async (db) => {
    const second = await storedTradeRanges(db);
    assert.deepEqual([...second.keys()].sort(), ['btcusdt@aggTrade', 'btcusdt@trade', 'ethusdt@aggTrade', 'ethusdt@trade']);
    for (const [stream, before] of first) {
      const after = second.get(stream)!;
      // The first run's ids are untouched and the second run's all lie above them: one island each.
      assert.deepEqual(after.slice(0, before.length), before, `${stream}: the first run's rows are as they were`);
      assert.equal(after.length, before.length + 1, `${stream}: the restart added one run of new ids: ${JSON.stringify(after)}`);
      assert.ok(after[after.length - 1]![0] > before[before.length - 1]![1], `${stream}: new ids start above the old ones`);
    }
    // No id twice, whatever its time: the exchange never reuses one.
    const [dupes] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT symbol, kind, trade_id FROM trades GROUP BY 1, 2, 3 HAVING count(*) > 1) d',
    );
    assert.equal(dupes!.n, 0);
  });
});
