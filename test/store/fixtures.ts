import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { BookTickerEvent, DepthEvent, PriceLevel, TradeEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres.js';
import { sharedData } from '../support/data.js';
import { freshDatabase } from '../support/postgres.js';
import { recordedFrames } from '../support/recordings.js';

/** The two kinds of database every store test runs against. */
export const DATABASE_KINDS = ['embedded', 'postgres'] as const;

/**
 * A migrated database of `kind` (embedded in a temp dir, or a fresh one on the test server), closed
 * after the test — an embedded one before its dir is removed (after-hooks run in registration order,
 * and removing a running server's folder fails with ENOTEMPTY). `retentionDays` as in migrate: data
 * older than that is eligible for deletion, so tests on the 2024 recordings pass a large value.
 */
export async function openMigrated(t: TestContext, kind: (typeof DATABASE_KINDS)[number], retentionDays = 30): Promise<Database> {
  const logger = silentLogger();
  let db: Database;
  if (kind === 'embedded') {
    const dir = await mkdtemp(join(tmpdir(), 'tickflow-embedded-'));
    const embedded = await openEmbedded({ dataDir: dir, port: 0, logger });
    t.after(async () => {
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    });
    db = embedded;
  } else {
    const server = await openPostgres(await freshDatabase(t), { logger });
    t.after(() => server.close());
    db = server;
  }
  await migrate(db, { logger, retentionDays });
  return db;
}

export interface RecordedEvents {
  readonly trades: TradeEvent[];
  readonly bookTickers: BookTickerEvent[];
  readonly depths: DepthEvent[];
}

/**
 * Real spot BTCUSDT trade, bookTicker and depth payloads from the shared recording, mapped the
 * plain way (the store tests must not depend on the source's parser).
 */
export async function recordedEvents(t: TestContext, limit = Number.POSITIVE_INFINITY): Promise<RecordedEvents | undefined> {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!path) return undefined;
  const out: RecordedEvents = { trades: [], bookTickers: [], depths: [] };
  for (const { receivedNs, raw } of await recordedFrames(path)) {
    const msg = JSON.parse(raw) as { stream?: string; data: Record<string, unknown> };
    const d = msg.data;
    const base = {
      exchange: 'binance' as const,
      market: 'spot' as const,
      symbol: 'BTCUSDT',
      ingestionTimestamp: Number(receivedNs / 1000n),
    };
    if (msg.stream?.endsWith('@trade') && out.trades.length < limit) {
      out.trades.push({
        ...base,
        type: 'trade',
        eventTime: d.E as number,
        tradeId: d.t as number,
        price: d.p as string,
        quantity: d.q as string,
        tradeTime: d.T as number,
        buyerIsMaker: d.m as boolean,
      });
    } else if (msg.stream?.endsWith('@bookTicker') && out.bookTickers.length < limit) {
      out.bookTickers.push({
        ...base,
        type: 'bookTicker',
        eventTime: Number(receivedNs / 1_000_000n),
        updateId: d.u as number,
        bidPrice: d.b as string,
        bidQty: d.B as string,
        askPrice: d.a as string,
        askQty: d.A as string,
      });
    } else if (msg.stream?.includes('@depth') && out.depths.length < limit) {
      out.depths.push({
        ...base,
        type: 'depth',
        eventTime: d.E as number,
        firstUpdateId: d.U as number,
        finalUpdateId: d.u as number,
        bids: d.b as PriceLevel[],
        asks: d.a as PriceLevel[],
      });
    }
  }
  return out;
}

/** A port nothing listens on right now (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** `count` BTCUSDT trades with ids from `firstId` on, each its own price (decimal strings as Binance sends them). */
export function syntheticTrades(count: number, firstId = 1): TradeEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1_723_161_255_343 + i,
    ingestionTimestamp: 1_723_161_254_087_896 + i,
    tradeId: firstId + i,
    price: `61837.${String(i).padStart(8, '0')}`,
    quantity: '0.02000000',
    tradeTime: 1_723_161_255_342 + i,
    buyerIsMaker: i % 2 === 0,
  }));
}
