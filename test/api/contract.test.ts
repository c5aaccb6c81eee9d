import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { build } from 'esbuild';
import { startAlerts } from '../../src/alerts/service.js';
import { type ApiPath, errorBodySchema, liveMessageSchema, responseSchemas, streamHelloSchema } from '../../src/api/contract.js';
import type { BookSnapshotEvent, GapEvent } from '../../src/core/events.js';
import { configSchema } from '../../src/config/schema.js';
import { gapsToHeal, recordHeal } from '../../src/history/gap-rows.js';
import { silentLogger } from '../../src/ops/logger.js';
import { writeEvents } from '../../src/store/writer.js';
import { NO_TROUBLE, spreadWindow } from '../support/alerts.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';
import { aggTrade, candleRow, insertProcessorRows, openTestDatabase, spreadMetricsRow, testApp, trade, tradeMetricsRow } from './helpers.js';

/**
 * The server's real answers, over HTTP, against the response contract (src/api/contract.ts) that
 * types both the handlers and the dashboard: a field renamed, added or dropped on one side fails
 * here, not in a browser.
 */

const T0 = Date.UTC(2024, 7, 9, 0, 0, 0);
const BTC = { exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' };

/** The query each JSON route is asked with: every route that needs a symbol gets BTCUSDT. */
const QUERIES: Record<ApiPath, string> = {
  '/api/symbols': '',
  '/api/candles': 'symbol=BTCUSDT&interval=1m',
  '/api/trades': 'symbol=BTCUSDT',
  '/api/book': 'symbol=BTCUSDT',
  '/api/metrics/trades': 'symbol=BTCUSDT',
  '/api/metrics/spreads': 'symbol=BTCUSDT',
  '/api/whales': '',
  '/api/anomalies': '',
  '/api/gaps': '',
  '/api/pipeline': '',
  '/api/alerts': '',
  '/api/alerts/rules': '',
};

/** The JSON routes the server's own OpenAPI document lists (all but the event stream); each must publish its body's schema. */
async function jsonPaths(base: string): Promise<string[]> {
  type Doc = { paths: Record<string, { get: { responses: { 200: { content: Record<string, { schema?: unknown }> } } } }> };
  const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as Doc;
  const json = Object.entries(doc.paths).filter(([, p]) => 'application/json' in p.get.responses[200].content);
  for (const [path, p] of json) assert.ok(p.get.responses[200].content['application/json']?.schema, `${path}: no response schema in the OpenAPI document`);
  return json.map(([path]) => path);
}

/** GETs every JSON route and parses its body with the contract; returns the bodies by path. */
async function checkAll(base: string): Promise<Map<ApiPath, Record<string, unknown>>> {
  const paths = await jsonPaths(base);
  assert.deepEqual(paths.sort(), Object.keys(responseSchemas).sort(), 'every JSON route has a response schema, and every schema a route');
  const bodies = new Map<ApiPath, Record<string, unknown>>();
  for (const path of Object.keys(responseSchemas) as ApiPath[]) {
    const query = QUERIES[path];
    const res = await fetch(`${base}${path}${query ? `?${query}` : ''}`);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`);
    const parsed = responseSchemas[path].safeParse(body);
    assert.ok(parsed.success, `${path} breaks the contract: ${parsed.error?.message}\n${JSON.stringify(body).slice(0, 2_000)}`);
    bodies.set(path, body);
  }
  return bodies;
}

/** The top-level arrays of a body that are empty: the contract checked none of their items. */
function emptyLists(body: Record<string, unknown>): string[] {
  return Object.entries(body)
    .filter(([, v]) => Array.isArray(v) && v.length === 0)
    .map(([k]) => k);
}

/**
 * Reads /api/stream until every type in `wanted` has arrived, parsing the `hello` event and every
 * message of every `data:` batch with the contract; returns the types seen. Fails when the stream
 * ends, or sends nothing for `idleMs`, before that.
 */
async function streamTypes(url: string, wanted: readonly string[], idleMs = 60_000): Promise<Set<string>> {
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(), idleMs);
  const seen = new Set<string>();
  try {
    const res = await fetch(url, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.ok(res.body);
    const decoder = new TextDecoder();
    let buffered = '';
    let hello = false;
    const reader = res.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const chunk = read.value;
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), idleMs);
      buffered += decoder.decode(chunk, { stream: true });
      const events = buffered.split('\n\n');
      buffered = events.pop() ?? '';
      for (const event of events) {
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (data === '') continue;
        if (event.split('\n').includes('event: hello')) {
          const parsed = streamHelloSchema.safeParse(JSON.parse(data));
          assert.ok(parsed.success, `hello breaks the contract: ${parsed.error?.message}\n${data}`);
          hello = true;
          continue;
        }
        for (const message of JSON.parse(data) as unknown[]) {
          const parsed = liveMessageSchema.safeParse(message);
          assert.ok(parsed.success, `a stream message breaks the contract: ${parsed.error?.message}\n${JSON.stringify(message)}`);
          seen.add(parsed.data.type);
        }
      }
      if (hello && wanted.every((t) => seen.has(t))) return seen;
    }
    assert.fail(`the stream ended having sent ${[...seen].join(', ') || 'nothing'}`);
  } catch (err) {
    if (abort.signal.aborted) assert.fail(`the stream sent nothing for ${idleMs} ms; types so far: ${[...seen].join(', ') || 'none'}`);
    throw err;
  } finally {
    clearTimeout(idle);
    abort.abort();
  }
}

async function listen(app: { listen(o: { host: string; port: number }): Promise<string>; server: { address(): unknown } }): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

test('every JSON route answers within the contract: stored trades, candles, metrics, whales, anomalies, healed gaps, a book snapshot, alerts', async (t) => {
  const db = await openTestDatabase(t);
  const gap: GapEvent = { type: 'gap', ...BTC, stream: 'trade', firstMissingId: 5, lastMissingId: 7, detectedAt: T0 + 5_000, reason: 'sequence' };
  const book: BookSnapshotEvent = {
    type: 'bookSnapshot',
    ...BTC,
    updateId: 100,
    depth: 2,
    takenAt: T0 + 9_000,
    bids: [
      ['61000.01', '1.5'],
      ['61000.00', '2'],
    ],
    asks: [
      ['61000.02', '0.3'],
      ['61000.03', '4'],
    ],
  };
  await writeEvents(db, [
    ...[1, 2, 3, 4, 8, 9].map((id) => trade('BTCUSDT', id, '61000.01', id === 9 ? '20' : '0.1', T0 + id * 1_000)),
    aggTrade('BTCUSDT', 1, '61000.01', '0.1', T0 + 1_000),
    gap,
    book,
  ]);
  // Marked healed by the healer's own statement.
  const [pending] = await gapsToHeal(db, ['spot'], 10, false);
  assert.ok(pending);
  await recordHeal(db, pending, { status: 'healed', rows: 3 });
  await insertProcessorRows(db, [
    { table: 'candles', row: candleRow('BTCUSDT', '1m', T0) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', T0, { volatilityAlert: true, priceStddev: 900 }) },
    { table: 'spread_metrics', row: spreadMetricsRow('BTCUSDT', T0, { spreadWarning: true, avgSpreadBps: 30 }) },
    {
      table: 'whale_trades',
      row: { ...BTC, tradeId: 9, tradeTime: T0 + 9_000, price: '61000.01', quantity: '20', notional: '1220000.20', side: 'buy' },
    },
  ]);

  // A real alert engine with a rule that fires, so firing and history hold an alert each.
  const rules = [{ name: 'spread-wide', condition: 'spread' as const, threshold: 10, for: 0 }];
  const config = configSchema.parse({ alerts: { rules } });
  const alerts = await startAlerts({
    config,
    db,
    logger: silentLogger(),
    notifiers: {},
    now: () => T0 + 60_000,
    probe: async () => NO_TROUBLE,
  });
  t.after(() => alerts.close());
  alerts.observe([spreadWindow(BTC, T0, 30)]);
  await alerts.evaluate();

  const { app, live } = testApp(t, db, { config: { alerts: { rules } }, alerts });
  // Fed trades give the pipeline report stream rates and ingest latencies.
  live.publish(trade('BTCUSDT', 10, '61000.01', '0.1', Date.now()));
  const base = await listen(app);

  const bodies = await checkAll(base);
  for (const [path, body] of bodies) {
    // `pending`: the rule fires at once (for: 0), so nothing waits.
    const unchecked = emptyLists(body).filter((k) => !(path === '/api/alerts' && k === 'pending'));
    assert.deepEqual(unchecked, [], `${path}: empty lists check nothing`);
  }
  // Errors have one body too: a bad parameter, an unknown instrument, no such route.
  for (const [path, status, code] of [
    ['/api/candles?symbol=BTCUSDT&interval=7m', 400, 'TF_API_BAD_PARAM'],
    ['/api/trades?symbol=NOSUCHCOIN', 404, 'TF_API_UNKNOWN_SYMBOL'],
    ['/api/nothing', 404, 'TF_API_NOT_FOUND'],
  ] as const) {
    const res = await fetch(`${base}${path}`);
    assert.equal(res.status, status, path);
    const parsed = errorBodySchema.safeParse(await res.json());
    assert.ok(parsed.success, `${path}: the error body breaks the contract: ${parsed.error?.message}`);
    assert.equal(parsed.data.code, code);
  }
  const gaps = bodies.get('/api/gaps')?.gaps as { healStatus: string }[];
  assert.equal(gaps[0]?.healStatus, 'healed');
  assert.equal((bodies.get('/api/book') as { source: string }).source, 'stored');
});

test('tickflow run --source sim: the running pipeline answers every JSON route and streams every message within the contract (live book, source status, exchangeInfo rules)', async (t) => {
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'bookTicker', 'depth'],
    'store.dataDir': tempDir(),
  });
  const base = pipeline.apiUrl as string;
  const get = async (path: string) => (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;
  const trades = async () => ((await get('/api/trades?symbol=BTCUSDT')).trades as unknown[]).length;
  // Stored trades and a live book: the routes then answer from real rows and the real book.
  // Progress is what is awaited: stored trades and the book's updates (the pipeline's stream stats tick on regardless).
  const book = () => get('/api/book?symbol=BTCUSDT');
  await waitFor('stored trades and a live order book', async () => (await trades()) > 0 && (await book()).source === 'live', {
    progress: async () => [await trades(), (await book()).updateId],
  });
  const bodies = await checkAll(base);
  const report = bodies.get('/api/pipeline') as { source: { kind: string; connections: unknown[] } | null; instruments?: unknown[] };
  assert.equal(report.source?.kind, 'sim');
  assert.ok(report.source.connections.length > 0);
  assert.equal(report.instruments?.length, 1);
  // The stream of the same pipeline: its hello and every message of every batch until trades, book
  // tickers and candles have all arrived.
  await streamTypes(`${base}/api/stream?symbols=BTCUSDT`, ['trade', 'bookTicker', 'candle']);
});

test('the dashboard bundle takes the contract as types only: no zod, nothing from node', async () => {
  const result = await build({
    entryPoints: ['src/web/client/main.ts'],
    bundle: true,
    write: false,
    outdir: 'unused',
    format: 'esm',
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  assert.ok(inputs.includes('src/web/client/api.ts'), inputs.join('\n'));
  assert.deepEqual(
    inputs.filter((i) => /node_modules\/zod\/|src\/api\/contract\.ts|src\/config\//.test(i)),
    [],
  );
});
