import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { cluster, startRole } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

interface BookBody {
  source: string;
  updateId: number | null;
  bids: [string, string][];
  asks: [string, string][];
}

test('tickflow ingest keeps the book and publishes its snapshots over Kafka; store writes book_snapshots; serve answers /api/book from them', async (t) => {
  const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 5, tradesPerSecond: 20 });
  t.after(() => sim.close());
  const prefix = uniquePrefix('book');
  const on = cluster(t, prefix, await freshDatabase(t));
  const group = ['--set', `bus.groupPrefix=${prefix}`];
  const env = { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' };
  await startRole(t, 'store', on, [...group, '--set', 'store.batchMs=300'], env);
  const serve = await startRole(t, 'serve', on, [...group, '--symbols', 'BTCUSDT', '--port', '0']);
  const ingest = await startRole(t, 'ingest', on, [
    ...group,
    '--symbols',
    'BTCUSDT',
    '--source',
    'binance',
    '--ws-url',
    sim.wsBaseUrl,
    '--rest-url',
    sim.restBaseUrl,
    '--streams',
    'trade,depth',
    '--set',
    'book.snapshotMs=200',
  ]);

  const inSync = async () => /^tickflow_book_in_sync\{[^}]*symbol="BTCUSDT"[^}]*\} 1$/m.test(await (await fetch(`${ingest.opsUrl}/metrics`)).text());
  await waitFor("the ingest role's book in step with the diff stream", inSync, 60_000);
  const book = async (): Promise<BookBody> => (await (await fetch(`${serve.opsUrl}/api/book?symbol=BTCUSDT&depth=10`)).json()) as BookBody;
  await waitFor('serve answering from a stored book snapshot', async () => (await book()).source === 'stored', 60_000);
  const stored = await book();
  assert.equal(stored.bids.length, 10);
  assert.equal(stored.asks.length, 10);
  assert.ok(Number(stored.bids[0]![0]) < Number(stored.asks[0]![0]), 'best bid below best ask');
  // Newer snapshots keep arriving while the book moves.
  await waitFor('a newer snapshot', async () => ((await book()).updateId ?? 0) > (stored.updateId ?? 0), 60_000);
});
