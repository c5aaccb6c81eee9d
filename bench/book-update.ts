/**
 * Cost of one local-order-book update per diff event (LocalBook.onDiff: sequence check + applying
 * the levels), over the real depth diffs of the recordings (spot BTCUSDT 2024-08-08/09 @100ms,
 * USD-M BTCUSDT @0ms, each from its REST snapshot), and of the same through BookKeeper.observe
 * (what the ingest side runs per record: routing by instrument, exchange time, metrics on a
 * break). The yardstick, in the same run: a bare JSON.parse of the same raw frames.
 * Usage: `npx tsx bench/book-update.ts [passes]`.
 */
import { performance } from 'node:perf_hooks';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { join } from 'node:path';
import { BookKeeper } from '../src/book/book-keeper.js';
import { LocalBook } from '../src/book/local-book.js';
import { configSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import type { DepthEvent, Market } from '../src/core/events.js';
import { parseFrame } from '../src/sources/binance/parse.js';
import { type DepthSnapshot, depthSnapshotFromRest } from '../src/sources/binance/rest-parse.js';
import { readRecording } from '../src/sources/replay/recording.js';
import { SHARED_DATA } from '../test/support/data.js';

const passes = Number(process.argv[2] ?? 20);

interface Recording {
  readonly name: string;
  readonly market: Market;
  readonly snapshot: DepthSnapshot;
  readonly raw: string[];
  readonly events: DepthEvent[];
}

async function load(name: string, market: Market, files: string[]): Promise<Recording> {
  const raw: string[] = [];
  const events: DepthEvent[] = [];
  let snapshot: DepthSnapshot | undefined;
  for (const file of files) {
    for await (const f of readRecording(join(SHARED_DATA, file))) {
      if (!f.raw.startsWith('{"stream"')) {
        snapshot ??= depthSnapshotFromRest(JSON.parse(f.raw));
        continue;
      }
      if (!f.raw.includes('@depth')) continue;
      const parsed = parseFrame(f.raw, market, 0);
      if (parsed.ok !== true || parsed.event.type !== 'depth') continue;
      raw.push(f.raw);
      events.push(parsed.event);
    }
  }
  if (snapshot === undefined) throw new Error(`${name}: no snapshot line`);
  return { name, market, snapshot, raw, events };
}

const recordings = [
  await load('spot BTCUSDT depth@100ms', 'spot', ['binance-spot-ws/btcusdt_20240808.gz', 'binance-spot-ws/btcusdt_20240809.gz']),
  await load('USD-M BTCUSDT depth@0ms', 'usdm', ['binance-usdm-ws/btcusdt_20240808.gz']),
];

function replayBook(r: Recording): number {
  const book = new LocalBook({ market: r.market, symbol: 'BTCUSDT' });
  // Snapshot first: the few diffs recorded before it are then dropped as stale, the rest applied.
  book.onSnapshot(r.snapshot);
  let applied = 0;
  for (const e of r.events) if (book.onDiff(e) === 'applied') applied += 1;
  return applied;
}

const bookConfig = configSchema.parse({}).book;

/** The pipeline's path: a BookKeeper in replay mode, started by the snapshot as a record, fed one record at a time. */
function replayKeeper(r: Recording): number {
  const keeper = new BookKeeper({
    exchange: 'binance',
    market: r.market,
    symbols: ['BTCUSDT'],
    config: bookConfig,
    emit: async () => {},
    logger: silentLogger(),
    metrics: createMetrics(),
  });
  const s = r.snapshot;
  keeper.observe([
    {
      type: 'depthSnapshot',
      exchange: 'binance',
      market: r.market,
      symbol: 'BTCUSDT',
      eventTime: 0,
      ingestionTimestamp: 0,
      lastUpdateId: s.lastUpdateId,
      bids: s.bids,
      asks: s.asks,
    },
  ]);
  for (const e of r.events) keeper.observe([e]);
  return keeper.top('BTCUSDT', 1)?.updateId ?? 0;
}

printMachine('start');
console.log(`book update cost per diff event vs JSON.parse of the same frame (${passes} passes, node ${process.version})`);
const problems: string[] = [];
for (const r of recordings) {
  const levels = r.events.reduce((n, e) => n + e.bids.length + e.asks.length, 0);
  // Warm-up.
  for (const s of r.raw.slice(0, 2_000)) JSON.parse(s);
  replayBook(r);
  let sink = 0;
  let t0 = performance.now();
  for (let p = 0; p < passes; p++) for (const s of r.raw) sink += s.length === 0 ? 0 : (JSON.parse(s) as { data: { u: number } }).data.u > 0 ? 1 : 0;
  const parseMs = performance.now() - t0;
  t0 = performance.now();
  for (let p = 0; p < passes; p++) sink += replayBook(r);
  const bookMs = performance.now() - t0;
  replayKeeper(r);
  t0 = performance.now();
  for (let p = 0; p < passes; p++) sink += replayKeeper(r);
  const keeperMs = performance.now() - t0;
  if (r.events.length === 0 || replayBook(r) === 0) problems.push(`${r.name}: no diff applied`);
  if (replayKeeper(r) !== r.events[r.events.length - 1]?.finalUpdateId) problems.push(`${r.name}: the keeper's book did not reach the last diff`);
  const perSecond = (ms: number) => (r.events.length * passes * 1000) / ms;
  printComparison({
    figure: `${r.name} book update`,
    value: perSecond(bookMs),
    yardstick: 'JSON.parse of the same frames',
    yardstickValue: perSecond(parseMs),
    unit: 'diffs/s',
  });
  printComparison({
    figure: `${r.name} BookKeeper.observe`,
    value: perSecond(keeperMs),
    yardstick: 'JSON.parse of the same frames',
    yardstickValue: perSecond(parseMs),
    unit: 'diffs/s',
  });
  const n = r.events.length * passes;
  const us = (ms: number) => ((ms * 1_000) / n).toFixed(2);
  console.log(
    `${r.name}: ${r.events.length} diffs, ${(levels / r.events.length).toFixed(1)} levels/diff | JSON.parse ${us(parseMs)} µs/frame | book ${us(bookMs)} µs/diff | keeper ${us(keeperMs)} µs/diff | book / JSON.parse = ${(bookMs / parseMs).toFixed(2)}, keeper / JSON.parse = ${(keeperMs / parseMs).toFixed(2)} (sink ${sink % 10})`,
  );
}
printMachine('end');
failOnProblems(problems);
