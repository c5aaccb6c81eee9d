import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedData } from '../support/data.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

interface BookBody {
  source: string;
  updateId: number;
  bids: [string, string][];
  asks: [string, string][];
}

test('tickflow run --source sim keeps a live book: /api/book serves it, book_snapshots store it, a depth gap is recorded and resynced', async (t) => {
  const { pipeline, ctx } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'depth'],
    'store.dataDir': tempDir(),
    'book.snapshotMs': 200,
    'book.resyncMinMs': 50,
  });
  const api = pipeline.apiUrl as string;
  const book = async (): Promise<{ status: number; body: BookBody }> => {
    const res = await fetch(`${api}/api/book?symbol=BTCUSDT&depth=5`);
    return { status: res.status, body: (await res.json()) as BookBody };
  };
  await waitFor('the live book in step', async () => (await book()).body.source === 'live');
  const live = (await book()).body;
  assert.equal(live.bids.length, 5);
  assert.ok(Number(live.bids[0]![0]) < Number(live.asks[0]![0]), 'best bid below best ask');

  const db = pipeline.db;
  await waitFor('book snapshots stored', async () => Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM book_snapshots'))[0]?.n) >= 2);
  const [row] = await db.query<{ depth: number; bids: unknown }>(
    `SELECT depth, bids FROM book_snapshots WHERE exchange = 'binance' AND market = 'spot' AND symbol = 'BTCUSDT' ORDER BY taken_at DESC LIMIT 1`,
  );
  assert.equal(row?.depth, 20);
  assert.equal((row!.bids as unknown[]).length, 20);
  await waitFor('the REST snapshot stored', async () => (await db.query('SELECT 1 FROM depth_snapshots LIMIT 1')).length === 1);

  pipeline.simulator!.faults.skipIds('BTCUSDT', 'depth@100ms', 3);
  await waitFor('a depth gap stored', async () => (await db.query(`SELECT 1 FROM gaps WHERE stream = 'depth' AND symbol = 'BTCUSDT'`)).length === 1);
  const metrics = async () => (await ctx.metrics.registry.getSingleMetric('tickflow_book_resyncs_total')?.get())?.values ?? [];
  await waitFor('a resync after the break', async () => (await metrics()).some((v) => v.labels.reason !== 'start' && v.value >= 1));
  await waitFor('the book in step again', async () => {
    const b = await book();
    return b.body.source === 'live' && b.body.updateId > live.updateId;
  });
});

test('tickflow run --source replay:<recording> builds the book from the recorded snapshot and stores it as the recording leaves it', async (t) => {
  const file = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (file === undefined) return;
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': `replay:${file}`,
    'source.market': 'usdm',
    'source.symbols': ['BTCUSDT'],
    'store.dataDir': tempDir(),
  });
  await pipeline.drained;
  const db = pipeline.db;
  const [last] = await db.query<{ u: string }>(`SELECT max(final_update_id)::text AS u FROM depth_updates WHERE market = 'usdm' AND symbol = 'BTCUSDT'`);
  const [row] = await db.query<{ update_id: string; taken_at: Date; bids: unknown }>(
    `SELECT update_id::text, taken_at, bids FROM book_snapshots WHERE exchange = 'binance' AND market = 'usdm' AND symbol = 'BTCUSDT' ORDER BY taken_at DESC LIMIT 1`,
  );
  assert.equal(row?.update_id, last?.u, 'the final book is stored');
  assert.equal((row!.bids as unknown[]).length, 20);
  assert.ok(new Date(row!.taken_at).getTime() < Date.parse('2024-08-10'), "stamped with the recording's time, not the wall clock");
});
