import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { compareCandles } from '../../src/pipeline/verify.js';
import type { KlineRow } from '../../src/sources/binance/rest-parse.js';
import { startSimulator } from '../../src/simulator/index.js';
import { exitedWithin, spawnTickflow } from '../support/cli.js';
import { freshDatabase } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';

const MINUTE = 60_000;

test('tickflow backfill: killed with SIGKILL mid-way and started again, it finishes; every trade and aggTrade of the period stored once; candles built from the trades equal the klines', async (t) => {
  const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 11, tradesPerSecond: 50 });
  t.after(() => sim.close());
  // Enough history for several pages of each endpoint, then a closed minute to backfill.
  sim.faults.burst(3_000, 4_000);
  const from = Math.floor(Date.now() / MINUTE) * MINUTE;
  const to = from + MINUTE;
  await waitFor('the minute of the burst closed', () => Date.now() >= to + 1_000, 2 * MINUTE);
  const url = await freshDatabase(t);
  const db = new pg.Client({ connectionString: url });
  // The database is dropped (connections ended) by an earlier after hook than db.end.
  db.on('error', () => undefined);
  await db.connect();
  t.after(() => db.end());

  const args = (share: number) => [
    'backfill',
    '--symbols',
    'BTCUSDT',
    '--streams',
    'aggTrade,trade,kline_1m',
    '--from',
    String(from),
    '--to',
    String(to),
    '--rest-url',
    sim.restBaseUrl,
    '--db',
    url,
    '--set',
    `heal.weightShare=${share}`,
  ];
  const checkpoint = async (stream: string) =>
    (
      await db
        .query<{ next_id: string | null; done: boolean }>('SELECT next_id::text, done FROM backfill_checkpoints WHERE stream = $1', [stream])
        .catch(() => ({ rows: [] }))
    ).rows[0];

  // A small weight share: the first run stops at its per-minute budget in the middle of the trades, where it is killed.
  const first = spawnTickflow(args(0.03));
  t.after(() => first.child.kill('SIGKILL'));
  await waitFor(
    'the trades task under way',
    async () => {
      const c = await checkpoint('trade');
      return c !== undefined && c.next_id !== null && !c.done;
    },
    { progress: async () => [await checkpoint('aggTrade'), await checkpoint('trade')] },
  );
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, 137);
  assert.equal((await checkpoint('aggTrade'))?.done, true);
  assert.equal((await checkpoint('trade'))?.done, false);

  const second = spawnTickflow(args(1));
  t.after(() => second.child.kill('SIGKILL'));
  assert.equal(await second.exited, 0, second.stderr().slice(-3000));
  assert.match(second.stdout(), /BTCUSDT aggTrade: already done, skipped/);
  assert.match(second.stdout(), /BTCUSDT candles: \d+ rows/);
  assert.match(second.stderr(), /BTCUSDT trade \[.*\] \d+% \| \d+ rows \| \d+ rows\/s \| ETA/, 'plain progress lines when not on a terminal');

  // Each stream: one contiguous run of ids, each id once, nothing outside the period.
  const runs = await db.query<{ kind: string; n: string; first: string; last: string; distinct_ids: string; min_t: string; max_t: string }>(
    `SELECT kind, count(*)::text AS n, min(trade_id)::text AS first, max(trade_id)::text AS last, count(DISTINCT trade_id)::text AS distinct_ids,
            (extract(epoch from min(trade_time)) * 1000)::bigint::text AS min_t, (extract(epoch from max(trade_time)) * 1000)::bigint::text AS max_t
     FROM trades GROUP BY kind ORDER BY kind`,
  );
  assert.deepEqual(
    runs.rows.map((r) => r.kind),
    ['aggTrade', 'trade'],
  );
  for (const r of runs.rows) {
    assert.equal(r.n, r.distinct_ids, `${r.kind}: no id stored twice`);
    assert.equal(Number(r.n), Number(r.last) - Number(r.first) + 1, `${r.kind}: no id missing between the first and the last`);
    assert.ok(Number(r.min_t) >= from && Number(r.max_t) < to, `${r.kind}: only trades of the period`);
    assert.ok(Number(r.n) > 2_000, `${r.kind}: several pages (${r.n})`);
  }

  // The candles, built by the processor from the trades, equal the exchange's klines (fetched by the same backfill) in all nine fields.
  const klines = await db.query<Record<string, string>>(
    `SELECT (extract(epoch from open_time) * 1000)::bigint::text AS open_time, open::text, high::text, low::text, close::text, volume::text,
            (extract(epoch from close_time) * 1000)::bigint::text AS close_time, quote_volume::text, trade_count::text,
            taker_buy_volume::text, taker_buy_quote_volume::text
     FROM klines WHERE interval = '1m' ORDER BY open_time`,
  );
  const candles = await db.query<Record<string, string>>(
    `SELECT (extract(epoch from window_start) * 1000)::bigint::text AS open_time, open::text, high::text, low::text, close::text, volume::text,
            (extract(epoch from window_end) * 1000 - 1)::bigint::text AS close_time, quote_volume::text, trade_count::text,
            taker_buy_volume::text, taker_buy_quote_volume::text
     FROM candles WHERE interval = '1m' ORDER BY window_start`,
  );
  const row = (r: Record<string, string>): KlineRow => ({
    openTime: Number(r.open_time),
    open: r.open!,
    high: r.high!,
    low: r.low!,
    close: r.close!,
    volume: r.volume!,
    closeTime: Number(r.close_time),
    quoteVolume: r.quote_volume!,
    tradeCount: Number(r.trade_count),
    takerBuyVolume: r.taker_buy_volume!,
    takerBuyQuoteVolume: r.taker_buy_quote_volume!,
  });
  const theirs = klines.rows.map(row);
  assert.ok(
    theirs.some((k) => k.tradeCount > 0),
    'the klines of the period were backfilled',
  );
  const ours = new Map(candles.rows.map((r) => [Number(r.open_time), row(r)]));
  const result = compareCandles({ complete: ours, incomplete: new Set() }, theirs, from, to);
  assert.deepEqual(result.mismatches, []);
  assert.equal(result.compared, theirs.filter((k) => k.tradeCount > 0).length);
  const tradeRun = runs.rows.find((r) => r.kind === 'trade')!;
  assert.equal(
    theirs.reduce((n, k) => n + k.tradeCount, 0),
    Number(tradeRun.n),
    'the klines count exactly the trades stored',
  );
});

test('tickflow backfill against an endpoint that answers out of shape: a 429 wait said on stderr; a coded error and exit 1 (not a process kept alive by its progress bar); klines outside the period are not stored', async (t) => {
  const from = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
  const to = from + 2 * MINUTE;
  const kline = (openTime: number) => [openTime, '1.0', '1.0', '1.0', '1.0', '2.0', openTime + MINUTE - 1, '2.0', 1, '1.0', '1.0', '0'];
  // aggTrades by time finds the first id; historicalTrades then answers with aggTrade-shaped rows (no "time").
  const aggTrade = { a: 7, p: '1.0', q: '1.0', f: 7, l: 7, T: from + 1_000, m: false, M: true };
  let requests = 0;
  const server = createServer((req, res) => {
    // The first request is rate limited: the wait is said on stderr, not silent.
    requests += 1;
    if (requests === 1) return void res.writeHead(429, { 'retry-after': '1' }).end('{"code":-1003,"msg":"Too many requests"}');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = path.endsWith('/klines') ? [kline(0), kline(from)] : [aggTrade];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const restUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = await freshDatabase(t);
  const args = (streams: string) => [
    'backfill',
    '--symbols',
    'BTCUSDT',
    '--streams',
    streams,
    '--from',
    String(from),
    '--to',
    String(to),
    '--rest-url',
    restUrl,
    '--db',
    url,
  ];

  const refused = spawnTickflow(args('aggTrade,trade'));
  t.after(() => refused.child.kill('SIGKILL'));
  assert.equal(await exitedWithin(refused, 120_000), 1, refused.stderr().slice(-2000));
  assert.match(refused.stderr(), /^tickflow: TF_REST_REJECTED: GET \/historicalTrades: unexpected response: "time" is missing/m);
  assert.doesNotMatch(refused.stderr(), /^\s+at /m);
  assert.match(
    refused.stderr(),
    /^tickflow: TF_REST_RATE_LIMITED: GET \/aggTrades: HTTP 429 code -1003: Too many requests; waiting 1 s \(Retry-After\); attempt 1 failed, retrying$/m,
  );

  const klines = spawnTickflow(args('kline_1m'));
  t.after(() => klines.child.kill('SIGKILL'));
  assert.equal(await exitedWithin(klines, 120_000), 0, klines.stderr().slice(-2000));
  const db = new pg.Client({ connectionString: url });
  db.on('error', () => undefined);
  await db.connect();
  t.after(() => db.end());
  const stored = await db.query<{ t: string }>(`SELECT (extract(epoch from open_time) * 1000)::bigint::text AS t FROM klines ORDER BY open_time`);
  assert.deepEqual(
    stored.rows.map((r) => Number(r.t)),
    [from],
    'only the kline inside [from, to)',
  );
});
