import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedData } from '../support/data.js';
import { readEmbedded, startTestPipeline, tempDir } from '../support/pipeline.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'replay-hook-secret';

test('a replay of the same recording into the same data dir sends no alert twice (idempotency keys from event time)', async (t) => {
  const file = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!file) return;
  const receiver = await startWebhookReceiver(t, SECRET);
  const dataDir = tempDir();
  const overrides = {
    'source.kind': `replay:${file}`,
    'source.market': 'usdm',
    'source.symbols': ['BTCUSDT'],
    'store.dataDir': dataDir,
    'alerts.webhook': { enabled: true, url: receiver.url, secret: SECRET, retryInitialMs: 10, retryMaxMs: 100 },
    // Thresholds low enough that this quiet recording fires and resolves several times.
    'alerts.rules': [
      { name: 'move', condition: 'priceMove', threshold: 0.02, for: 0, notify: ['webhook'] },
      { name: 'spread', condition: 'spread', threshold: 0.02, for: '1m', notify: ['webhook'] },
    ],
  };
  const replay = async (): Promise<void> => {
    const run = await startTestPipeline(t, overrides);
    await run.pipeline.drained;
    await run.pipeline.alerts?.evaluate();
    assert.equal(await run.stop(), 0);
  };
  await replay();
  const first = receiver.accepted();
  assert.ok(
    first.some((b) => b.state === 'firing'),
    `the first replay fired: ${first.map((b) => `${b.rule} ${b.state}`).join(', ')}`,
  );
  const firstEvents = await readEmbedded(dataDir, async (db) => {
    // Forget the market data and the processor's windows, keep the alert state: the second replay
    // builds every window again and meets every transition again.
    for (const table of ['trades', 'book_ticker', 'depth_updates', 'depth_snapshots', 'candles', 'trade_metrics', 'spread_metrics', 'whale_trades', 'gaps']) {
      await db.query(`DELETE FROM ${table}`);
    }
    return db.query<{ k: string }>('SELECT idempotency_key AS k FROM alert_events ORDER BY id');
  });

  await replay();
  const keys = receiver.accepted().map((b) => b.key);
  assert.deepEqual(
    keys.slice(0, first.length),
    first.map((b) => b.key),
  );
  assert.equal(new Set(keys).size, keys.length, 'no notification delivered twice');
  await readEmbedded(dataDir, async (db) => {
    const events = await db.query<{ k: string }>('SELECT idempotency_key AS k FROM alert_events ORDER BY id');
    const rows = (
      await db.query<{ r: string }>("SELECT rule || ' ' || state || ' ' || active_at::text || ' ' || at::text AS r FROM alert_events ORDER BY id")
    ).map((x) => x.r);
    assert.deepEqual(
      events,
      firstEvents,
      `the second replay met the same transitions and recorded none anew: first run ${firstEvents.length} ${JSON.stringify(rows)}`,
    );
    // What the first run queued and had not sent yet (the outbox) went out once, in the second.
    const delivered = await db.query<{ k: string }>('SELECT notification_key AS k FROM alert_deliveries WHERE delivered_at IS NOT NULL');
    assert.deepEqual(new Set(keys), new Set(delivered.map((d) => d.k)));
  });
});
