import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEmbedded, startTestPipeline, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

/** The nine kline fields a candle must equal, as text (exact decimals compared numerically in SQL). */
const NINE = ['open', 'high', 'low', 'close', 'volume', 'quote_volume', 'trade_count', 'taker_buy_volume', 'taker_buy_quote_volume'];

test('spot and USD-M BTCUSDT in one tickflow run: each market its own candles, equal to its own simulator klines', async (t) => {
  const dataDir = tempDir();
  const { pipeline, stop } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.markets': ['spot', 'usdm'],
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'bookTicker', 'kline_1m'],
    'processor.candleIntervals': ['1m'],
    'processor.allowedLatenessMs': 1_000,
    'processor.triggerIntervalMs': 500,
    'simulator.tradesPerSecond': 40,
    'store.dataDir': dataDir,
  });
  assert.deepEqual(Object.keys(pipeline.simulators).sort(), ['spot', 'usdm'], 'one simulator per market, over real sockets');

  // A candle is checkable once a whole minute was observed and closed by the watermark, on both markets.
  const complete = async (): Promise<Record<string, number>> => {
    const rows = await pipeline.db.query<{ market: string; n: number }>(
      `SELECT c.market, count(*)::int AS n FROM candles c JOIN klines k
         ON k.exchange = c.exchange AND k.market = c.market AND k.symbol = c.symbol AND k.interval = c.interval AND k.open_time = c.window_start
       WHERE c.is_complete AND k.closed GROUP BY c.market`,
    );
    return Object.fromEntries(rows.map((r) => [r.market, r.n]));
  };
  await waitFor(
    'a complete minute on spot and on USD-M',
    async () => {
      const n = await complete();
      return (n.spot ?? 0) >= 1 && (n.usdm ?? 0) >= 1;
    },
    200_000,
  );

  // The API answers per market, the first configured one by default.
  const get = async (path: string) => (await fetch(`${pipeline.apiUrl}${path}`)).json() as Promise<Record<string, unknown>>;
  const spotApi = await get('/api/candles?symbol=BTCUSDT&interval=1m');
  const perpApi = await get('/api/candles?symbol=BTCUSDT&interval=1m&market=usdm');
  assert.equal(spotApi.market, 'spot');
  assert.equal(perpApi.market, 'usdm');
  assert.notDeepEqual(spotApi.candles, perpApi.candles);
  const symbols = (await get('/api/symbols')).symbols as { market: string; symbol: string; configured: boolean }[];
  assert.deepEqual(
    symbols.filter((s) => s.configured).map((s) => `${s.market}:${s.symbol}`),
    ['spot:BTCUSDT', 'usdm:BTCUSDT'],
  );
  assert.equal(await stop(), 0);

  await readEmbedded(dataDir, async (db) => {
    const compared = await db.query<{ market: string; window_start: string; same: boolean; candle: string; kline: string }>(
      `SELECT c.market, c.window_start::text,
              ${NINE.map((f) => `c.${f} = k.${f}`).join(' AND ')} AS same,
              concat_ws(',', ${NINE.map((f) => `c.${f}::text`).join(', ')}) AS candle,
              concat_ws(',', ${NINE.map((f) => `k.${f}::text`).join(', ')}) AS kline
       FROM candles c JOIN klines k
         ON k.exchange = c.exchange AND k.market = c.market AND k.symbol = c.symbol AND k.interval = c.interval AND k.open_time = c.window_start
       WHERE c.is_complete AND k.closed ORDER BY c.market, c.window_start`,
    );
    for (const market of ['spot', 'usdm'])
      assert.ok(
        compared.some((r) => r.market === market),
        `${market}: a complete candle`,
      );
    for (const r of compared) assert.ok(r.same, `${r.market} ${r.window_start}: candle ${r.candle} ≠ kline ${r.kline}`);
    // Two instruments, two rows per minute: neither overwrote the other.
    const [both] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT window_start FROM candles WHERE is_final GROUP BY window_start HAVING count(DISTINCT market) = 2) w`,
    );
    assert.ok((both?.n ?? 0) >= 1);
    const trades = await db.query<{ market: string; n: number }>('SELECT market, count(*)::int AS n FROM trades GROUP BY market ORDER BY market');
    assert.deepEqual(
      trades.map((r) => r.market),
      ['spot', 'usdm'],
    );
  });
});
