import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BookSnapshotEvent } from '../../src/core/events.js';
import { writeEvents } from '../../src/store/writer.js';
import { openTestDatabase, testApp } from './helpers.js';

const T0 = Date.parse('2024-08-09T00:00:00Z');

function snapshot(market: string, updateId: number, takenAt: number, bid: string): BookSnapshotEvent {
  return {
    type: 'bookSnapshot',
    exchange: 'binance',
    market,
    symbol: 'BTCUSDT',
    updateId,
    depth: 3,
    bids: [
      [bid, '1.5'],
      ['61000.00', '2'],
      ['60999.99', '0.1'],
    ],
    asks: [
      ['61000.02', '0.3'],
      ['61000.03', '4'],
      ['61001.00', '7'],
    ],
    takenAt,
  };
}

test('GET /api/book: the latest stored snapshot of the instrument, the live book when the process has one', async (t) => {
  const db = await openTestDatabase(t);
  // Through the store writer's own statements; the second copy of a snapshot is a no-op.
  const older = snapshot('spot', 100, T0, '61000.01');
  await writeEvents(db, [older, snapshot('spot', 120, T0 + 1_000, '61000.015'), snapshot('usdm', 999, T0 + 5_000, '61010.0'), older]);
  const [count] = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM book_snapshots');
  assert.equal(count?.n, '3');

  const { app } = testApp(t, db, { config: { source: { markets: ['spot', 'usdm'] } } });
  const res = await app.inject('/api/book?symbol=btcusdt&depth=2');
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    source: 'stored',
    updateId: 120,
    time: T0 + 1_000,
    depth: 2,
    bids: [
      ['61000.015', '1.5'],
      ['61000.00', '2'],
    ],
    asks: [
      ['61000.02', '0.3'],
      ['61000.03', '4'],
    ],
  });
  const usdm = await app.inject('/api/book?symbol=BTCUSDT&market=usdm');
  assert.equal(usdm.json().updateId, 999, 'the USD-M book of the same symbol is another instrument');
  assert.equal(usdm.json().bids.length, 3, 'default depth (book.depth = 20) cut to what was stored');

  const none = await app.inject('/api/book?symbol=ETHUSDT');
  assert.equal(none.statusCode, 200);
  assert.deepEqual(none.json(), {
    exchange: 'binance',
    market: 'spot',
    symbol: 'ETHUSDT',
    source: 'none',
    updateId: null,
    time: null,
    depth: 20,
    bids: [],
    asks: [],
  });
  for (const bad of ['depth=0', 'depth=1001', 'depth=x', 'levels=5']) {
    const r = await app.inject(`/api/book?symbol=BTCUSDT&${bad}`);
    assert.equal(r.statusCode, 400, bad);
    assert.equal(r.json().code, 'TF_API_BAD_PARAM');
  }
  assert.equal((await app.inject('/api/book?symbol=DOGEUSDT')).json().code, 'TF_API_UNKNOWN_SYMBOL');

  const asked: number[] = [];
  const live = testApp(t, db, {
    config: { api: { token: 'secret-token-1' } },
    book: (instrument, depth) => {
      asked.push(depth);
      return instrument.symbol === 'BTCUSDT'
        ? { ...instrument, market: 'spot', updateId: 555, at: T0 + 9_000, bids: [['1.0', '1']], asks: [['2.0', '1']] }
        : null;
    },
  }).app;
  assert.equal((await live.inject('/api/book?symbol=BTCUSDT')).statusCode, 401, 'the API token applies');
  const fromLive = await live.inject({ url: '/api/book?symbol=BTCUSDT&depth=7', headers: { authorization: 'Bearer secret-token-1' } });
  assert.deepEqual(fromLive.json(), {
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    source: 'live',
    updateId: 555,
    time: T0 + 9_000,
    depth: 7,
    bids: [['1.0', '1']],
    asks: [['2.0', '1']],
  });
  assert.deepEqual(asked, [7]);
});
