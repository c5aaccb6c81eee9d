import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { configSchema, type ConfigInput } from '../../../src/config/schema.js';
import type { DeadLetterEvent, DepthSnapshotEvent, GapEvent, PipelineEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { ReplaySource } from '../../../src/sources/replay/source.js';
import { sharedData } from '../../support/data.js';
import { tempDir } from '../../support/pipeline.js';

const T0 = 1_723_161_600_000;

/** One recorded line: `<local_receive_ns> <combined-stream aggTrade frame>`, as the hftbacktest recorder writes it. */
function aggTradeLine(receivedMs: number, a: number, f: number, l: number, tradeTime: number): string {
  const data = { e: 'aggTrade', E: tradeTime + 1, s: 'BTCUSDT', a, p: '61000.10', q: '0.002', f, l, T: tradeTime, m: false, M: true };
  return `${BigInt(receivedMs) * 1_000_000n} ${JSON.stringify({ stream: 'btcusdt@aggTrade', data })}`;
}

async function replay(lines: readonly string[], gapGraceMs: number): Promise<PipelineEvent[]> {
  const file = join(tempDir(), 'recording.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const config = configSchema.parse({ source: { kind: `replay:${file}`, streams: ['aggTrade'], gapGraceMs } }).source;
  const source = new ReplaySource({ file, config }, { logger: silentLogger(), metrics: createMetrics() });
  const events: PipelineEvent[] = [];
  await source.start(async (batch) => {
    events.push(...batch);
  });
  await source.finished;
  await source.stop();
  return events;
}

const gaps = (events: readonly PipelineEvent[]) =>
  events.filter((e): e is GapEvent => e.type === 'gap').map((g) => [g.stream, g.firstMissingId, g.lastMissingId]);

test('reordering is not loss (replay): aggTrades of one ms out of id order within source.gapGraceMs of receive time are no gap', async () => {
  // a=11 is received 300 ms after a=12 (recording time): within the 1 000 ms grace.
  const events = await replay(
    [
      aggTradeLine(T0 + 10, 10, 100, 101, T0),
      aggTradeLine(T0 + 11, 12, 104, 104, T0),
      aggTradeLine(T0 + 311, 11, 102, 103, T0),
      aggTradeLine(T0 + 5_000, 13, 105, 105, T0 + 4_000),
    ],
    1_000,
  );
  assert.deepEqual(gaps(events), []);
  assert.deepEqual(
    events.filter((e) => e.type === 'aggTrade').map((e) => e.type === 'aggTrade' && e.aggTradeId),
    [10, 12, 11, 13],
  );
});

test('reordering is not loss (replay): an id still missing after source.gapGraceMs of recording time is a gap with its bounds', async () => {
  // a=11 arrives 2 s (recording time) after a=12 opened the hole: reported as a gap of exactly id 11.
  const events = await replay(
    [
      aggTradeLine(T0 + 10, 10, 100, 101, T0),
      aggTradeLine(T0 + 11, 12, 104, 104, T0),
      aggTradeLine(T0 + 2_011, 13, 105, 105, T0 + 2_000),
      aggTradeLine(T0 + 2_100, 11, 102, 103, T0),
    ],
    1_000,
  );
  assert.deepEqual(gaps(events), [['aggTrade', 11, 11]]);
  // The late id is still delivered: nothing the exchange sent is dropped.
  assert.equal(events.filter((e) => e.type === 'aggTrade').length, 4);
});

// Lines in the shape of ../shared/data/binance-spot-ws: `<local_receive_ns> <json>`.
const trade = (ns: string, t: number) =>
  `${ns} {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":${t},"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}`;
const depth = (ns: string, first: number, final: number) =>
  `${ns} {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":${first},"u":${final},"b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}`;
const book = (ns: string, u: number) =>
  `${ns} {"stream":"btcusdt@bookTicker","data":{"u":${u},"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}`;
const snapshot = (ns: string) =>
  `${ns} {"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"],["61837.62000000","0.61700000"]],"asks":[["61837.64000000","1.54698000"]]}`;

async function replayFile(t: TestContext, lines: readonly string[] | Buffer, source: NonNullable<ConfigInput['source']> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-replay-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'btcusdt.gz');
  await writeFile(file, Buffer.isBuffer(lines) ? lines : gzipSync(lines.join('\n')));
  const config = configSchema.parse({ source: { kind: `replay:${file}`, symbols: ['BTCUSDT'], ...source } }).source;
  const src = new ReplaySource({ file, config }, { logger: silentLogger(), metrics: createMetrics() });
  const events: PipelineEvent[] = [];
  await src.start(async (batch) => {
    events.push(...batch);
  });
  await src.finished;
  await src.stop();
  return { src, events };
}

const ofType = <T extends PipelineEvent['type']>(events: readonly PipelineEvent[], type: T) =>
  events.filter((e): e is Extract<PipelineEvent, { type: T }> => e.type === type);

test('kind 9 (replay robustness): a garbage line is a dead letter and the replay goes on', async (t) => {
  const { src, events } = await replayFile(t, [
    trade('1723161254087896568', 3735683259),
    'garbage without a receive time',
    '1723161254090000000 {"stream":"btcusdt@trade","data":{"e":"tra',
    trade('1723161254116723068', 3735683260),
  ]);
  assert.deepEqual(
    ofType(events, 'trade').map((e) => e.tradeId),
    [3735683259, 3735683260],
  );
  const letters = ofType(events, 'deadLetter') as DeadLetterEvent[];
  assert.deepEqual(
    letters.map((d) => [d.reason, d.raw]),
    [
      ['malformed_line', 'garbage without a receive time'],
      ['malformed_json', '{"stream":"btcusdt@trade","data":{"e":"tra'],
    ],
  );
  assert.match(letters[0]!.detail, /btcusdt\.gz:2: expected "<receive_ns> <json>"/);
  // The bad line carries the receive time of the frame before it.
  assert.equal(letters[0]!.receivedAt, 1723161254087);
  assert.equal(src.status().finished, true);
  assert.equal(src.status().error, undefined);
});

test('kind 9 (replay robustness): a truncated gzip emits what was read, reports the error and finishes', async (t) => {
  const lines = Array.from({ length: 3000 }, (_, i) => trade(String(1723161254087896568n + BigInt(i) * 1000n), 3735683259 + i));
  const packed = gzipSync(lines.join('\n'));
  const { src, events } = await replayFile(t, packed.subarray(0, Math.floor(packed.length * 0.6)));
  const trades = ofType(events, 'trade');
  assert.ok(trades.length > 500 && trades.length < 3000, `${trades.length} trades before the cut`);
  // Every frame read before the cut is emitted in order, none twice.
  assert.deepEqual(
    trades.map((e) => e.tradeId),
    Array.from({ length: trades.length }, (_, i) => 3735683259 + i),
  );
  const status = src.status();
  assert.equal(status.finished, true);
  assert.match(status.error ?? '', /btcusdt\.gz: cannot read recording after line \d+: unexpected end of file/);
  assert.equal(src.ready(), false, 'a failed replay is not ready');
});

test('kind 9 (replay robustness): the REST depth snapshot line is a depthSnapshot of the depth stream before it', async (t) => {
  const { events } = await replayFile(t, [
    snapshot('1723161253900000000'),
    depth('1723161253937085768', 50093239189, 50093239202),
    snapshot('1723161254206652067'),
  ]);
  const letters = ofType(events, 'deadLetter');
  assert.deepEqual(
    letters.map((d) => d.reason),
    ['snapshot_without_symbol'],
  );
  const snap = ofType(events, 'depthSnapshot') as DepthSnapshotEvent[];
  assert.equal(snap.length, 1);
  assert.deepEqual(snap[0], {
    type: 'depthSnapshot',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161254206,
    ingestionTimestamp: 1723161254206652,
    lastUpdateId: 50093239218,
    bids: [
      ['61837.63000000', '3.78826000'],
      ['61837.62000000', '0.61700000'],
    ],
    asks: [['61837.64000000', '1.54698000']],
  });
});

test('kinds 6 and 7 in replay: duplicated bookTicker/depth lines are kept once, a lost depth update is a depth gap', async (t) => {
  const { events } = await replayFile(t, [
    depth('1723161253937085768', 50093239189, 50093239202),
    book('1723161254087891268', 50093239212),
    book('1723161254087891268', 50093239212),
    depth('1723161254036059768', 50093239189, 50093239202),
    depth('1723161254137307667', 50093239208, 50093239224),
  ]);
  assert.equal(ofType(events, 'bookTicker').length, 1);
  assert.equal(ofType(events, 'depth').length, 2);
  assert.deepEqual(
    ofType(events, 'gap').map((g) => [g.stream, g.firstMissingId, g.lastMissingId]),
    [['depth', 50093239203, 50093239207]],
  );
});

test('kind 9 on the real recordings: the snapshot line becomes a depthSnapshot, nothing is dead-lettered, no depth breaks', async (t) => {
  for (const [dir, market] of [
    ['binance-spot-ws', 'spot'],
    ['binance-usdm-ws', 'usdm'],
  ] as const) {
    const path = sharedData(t, dir, 'btcusdt_20240808.gz');
    if (!path) return;
    const { events } = await replayFile(t, readFileSync(path), { market });
    assert.equal(ofType(events, 'deadLetter').length, 0, dir);
    assert.equal(ofType(events, 'gap').length, 0, dir);
    const snaps = ofType(events, 'depthSnapshot');
    assert.equal(snaps.length, 1, dir);
    assert.equal(snaps[0]!.symbol, 'BTCUSDT');
  }
});

test('a replay observes no ingest latency: its receive clock ran behind exchange time, the difference is not a latency', async () => {
  const file = join(tempDir(), 'recording.txt');
  // Received 1.27 s "before" the trades happened, as in the shared recordings.
  writeFileSync(file, `${[aggTradeLine(T0 - 1_270, 10, 100, 100, T0), aggTradeLine(T0 - 1_269, 11, 101, 101, T0 + 1)].join('\n')}\n`);
  const config = configSchema.parse({ source: { kind: `replay:${file}`, streams: ['aggTrade'] } }).source;
  const metrics = createMetrics();
  const source = new ReplaySource({ file, config }, { logger: silentLogger(), metrics });
  let received = 0;
  await source.start(async (batch) => {
    received += batch.filter((e) => e.type === 'aggTrade').length;
  });
  await source.finished;
  await source.stop();
  assert.equal(received, 2);
  assert.equal(source.status().kind, 'replay');
  const observed = (await metrics.ingestLatency.get()).values.filter((v) => v.metricName === 'tickflow_ingest_latency_seconds_count' && v.value > 0);
  assert.deepEqual(observed, []);
});
