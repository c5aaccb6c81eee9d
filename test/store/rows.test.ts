import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { configSchema } from '../../src/config/schema.js';
import type { DeadLetterEvent, DepthSnapshotEvent, PipelineEvent, TradeEvent } from '../../src/core/events.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import type { Database } from '../../src/store/database.js';
import { startStoreWriter } from '../../src/store/writer.js';
import { DATABASE_KINDS, openMigrated } from './fixtures.js';

const logger = silentLogger();
/** Publishes `events` through the real writer and waits until they are committed. */
async function store(t: TestContext, db: Database, events: readonly PipelineEvent[]): Promise<void> {
  const config = configSchema.parse({ store: { batchRows: 10_000, batchMs: 3_600_000 } });
  const bus = new MemoryBus();
  const writer = await startStoreWriter({ config, bus, db, logger, metrics: createMetrics(), health: new HealthRegistry() });
  t.after(async () => {
    await writer.close().catch(() => undefined);
    await bus.close();
  });
  await bus.publish(events);
  await bus.drain();
  await writer.flush();
}

const trade = (over: Partial<TradeEvent>): TradeEvent => ({
  type: 'trade',
  exchange: 'binance',
  market: 'usdm',
  symbol: 'BTCUSDT',
  eventTime: 1723161256322,
  ingestionTimestamp: 1723161255088176,
  tradeId: 5266583935,
  price: '61800.30',
  quantity: '0.006',
  tradeTime: 1723161256322,
  buyerIsMaker: false,
  ...over,
});

for (const kind of DATABASE_KINDS) {
  test(`${kind}: kind 3 (microsecond times): TIMESTAMPTZ keeps the exchange's microseconds`, async (t) => {
    const db = await openMigrated(t, kind);
    await store(t, db, [
      trade({ market: 'spot', tradeTime: 1723161255342, tradeTimeMicros: 1723161255342999, eventTime: 1723161255343, eventTimeMicros: 1723161255343123 }),
    ]);
    const rows = await db.query<{ t: string; e: string }>(
      `SELECT to_char(trade_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS t, to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS e FROM trades`,
    );
    assert.deepEqual(rows, [{ t: '2024-08-08 23:54:15.342999', e: '2024-08-08 23:54:15.343123' }]);
  });

  test(`${kind}: kind 11 (USD-M non-market trades): INSURANCE_FUND, ADL and NA trades are stored with their type`, async (t) => {
    const db = await openMigrated(t, kind);
    await store(t, db, [
      trade({ tradeId: 1, tradeType: 'MARKET' }),
      trade({ tradeId: 2, tradeType: 'INSURANCE_FUND' }),
      trade({ tradeId: 3, tradeType: 'ADL' }),
      trade({ tradeId: 4, tradeType: 'NA' }),
      trade({ tradeId: 5, market: 'spot' }),
    ]);
    const rows = await db.query<{ id: string; type: string | null }>('SELECT trade_id::text AS id, trade_type AS type FROM trades ORDER BY trade_id');
    assert.deepEqual(
      rows.map((r) => [Number(r.id), r.type]),
      [
        [1, 'MARKET'],
        [2, 'INSURANCE_FUND'],
        [3, 'ADL'],
        [4, 'NA'],
        [5, null],
      ],
    );
  });

  test(`${kind}: kind 10 (payload against stream): identical dead letters of one millisecond are each a row; a redelivery is not`, async (t) => {
    const db = await openMigrated(t, kind);
    const letters: DeadLetterEvent[] = Array.from({ length: 20 }, (_, seq) => ({
      type: 'deadLetter',
      origin: 'binance-ws',
      reason: 'malformed_json',
      detail: 'Unexpected end of JSON input',
      raw: '{"stream":"btcusdt@trade","data":{"e":"tra',
      receivedAt: 1723161255001,
      seq,
    }));
    await store(t, db, [...letters, ...letters.slice(0, 5)]);
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    assert.equal(rows[0]!.n, 20);
  });

  test(`${kind}: kind 9 (replay robustness): depth snapshots are stored with their levels`, async (t) => {
    const db = await openMigrated(t, kind);
    const snap: DepthSnapshotEvent = {
      type: 'depthSnapshot',
      exchange: 'binance',
      market: 'usdm',
      symbol: 'BTCUSDT',
      eventTime: 1723161256501,
      ingestionTimestamp: 1723161255319702,
      lastUpdateId: 5123107852948,
      transactionTime: 1723161256493,
      bids: [['61800.20', '2.909']],
      asks: [['61800.30', '3.330']],
    };
    await store(t, db, [snap, snap]);
    const rows = await db.query<{ id: string; bids: unknown; asks: unknown }>('SELECT last_update_id::text AS id, bids, asks FROM depth_snapshots');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, '5123107852948');
    const levels = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
    assert.deepEqual(levels(rows[0]!.bids), [['61800.20', '2.909']]);
    assert.deepEqual(levels(rows[0]!.asks), [['61800.30', '3.330']]);
  });
}
