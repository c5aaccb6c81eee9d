import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcessorCore, type Upsert } from '../../src/processors/processor-core.js';
import { loadRestoredRows, writeUpserts } from '../../src/processors/processor-store.js';
import { sharedData } from '../support/data.js';
import { openMigrated } from '../store/fixtures.js';
import { recordedEvents } from '../support/recordings.js';
import { asInputs, processorOptions, TableImage, trade } from './support.js';

for (const kind of ['embedded', 'postgres'] as const) {
  test(`${kind}: final rows written and reloaded are the rows the core produced, digit for digit`, async (t) => {
    const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
    if (!recording) return;
    const db = await openMigrated(t, kind, 100_000);
    const options = processorOptions({ whaleNotional: 100_000 });
    const events = (await recordedEvents(recording, 'usdm')).filter((e) => e.type === 'trade' || e.type === 'bookTicker');
    const core = new ProcessorCore(options);
    const image = new TableImage();
    const upserts = [...core.ingest(asInputs(events)).upserts, ...core.finish()];
    image.apply(upserts);
    await db.transaction((tx) => writeUpserts(tx, upserts));

    const restored = await loadRestoredRows(db, {
      candles: { '1m': 1000, '5m': 1000, '15m': 1000, '1h': 1000 },
      trade_metrics: { '1m': 1000 },
      spread_metrics: { '30s': 1000 },
    });
    const byStart = <R extends { symbol: string; interval: string; windowStart: number }>(rows: readonly R[]) =>
      [...rows].sort((a, b) => a.interval.localeCompare(b.interval) || a.windowStart - b.windowStart);
    assert.ok(restored.candles.length > 5 && restored.spreadMetrics.length > 10 && restored.tradeMetrics.length > 5);
    assert.deepEqual(byStart(restored.candles), byStart(image.of('candles')));
    assert.deepEqual(byStart(restored.tradeMetrics), byStart(image.of('trade_metrics')));
    assert.deepEqual(byStart(restored.spreadMetrics), byStart(image.of('spread_metrics')));
    const whales = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM whale_trades');
    assert.equal(Number(whales[0]?.n), image.of('whale_trades').length);
    assert.ok(image.of('whale_trades').length > 0);
  });

  test(`${kind}: a partial row never replaces a final one; one batch may carry a window twice`, async (t) => {
    const db = await openMigrated(t, kind, 100_000);
    const core = new ProcessorCore(processorOptions({ candleIntervals: ['1m'] }));
    core.ingest(asInputs([trade(1, 1_000, '10', '1')]));
    const partial = core.partials();
    const final = core.finish();
    const late = core.ingest([{ source: 'trades/0', offset: 5n, event: trade(2, 2_000, '11', '2') }]).upserts;
    await db.transaction((tx) => writeUpserts(tx, [...final, ...late]));
    await db.transaction((tx) => writeUpserts(tx, partial as Upsert[]));
    const rows = await db.query<{ volume: string; is_final: boolean; source_offset: string }>(
      `SELECT volume::text, is_final, source_offset::text FROM candles`,
    );
    assert.deepEqual(rows, [{ volume: '3', is_final: true, source_offset: '5' }]);
  });
}
