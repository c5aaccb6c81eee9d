import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { AggTradeEvent, Market, MarketEvent } from '../../src/core/events.js';
import { parseFrame } from '../../src/sources/binance/parse.js';
import { readRecording, type RecordedFrame } from '../../src/sources/replay/recording.js';

export type { RecordedFrame };

// Several tests in one file read the same recording: each test process reads and parses a file once.
const framesByPath = new Map<string, Promise<readonly RecordedFrame[]>>();
const eventsByPath = new Map<string, Promise<readonly MarketEvent[]>>();

async function collect(path: string): Promise<readonly RecordedFrame[]> {
  const frames: RecordedFrame[] = [];
  for await (const frame of readRecording(path)) frames.push(frame);
  return frames;
}

/**
 * Every frame of a shared-data recording (`<local_receive_ns> <json>` lines, gzipped or not), read
 * with the replay source's own reader (src/sources/replay/recording.ts), once per test process.
 * Errors as readRecording's: TF_DECODE for a line without a receive time or a truncated file.
 */
export function recordedFrames(path: string): Promise<readonly RecordedFrame[]> {
  let frames = framesByPath.get(path);
  if (frames === undefined) {
    frames = collect(path);
    framesByPath.set(path, frames);
  }
  return frames;
}

/** A frame's receive time in epoch µs, the ingestion timestamp the source gives its events. */
export function receivedMicros(frame: RecordedFrame): number {
  return Number(frame.receivedNs / 1_000n);
}

/**
 * Every market event of a shared-data recording as the Binance source would emit it (parseFrame
 * with the receive time); frames that are not market events (the REST snapshot line) are left out.
 * Read once per test process and market; the array is shared, so it is readonly.
 */
export function recordedEvents(path: string, market: Market): Promise<readonly MarketEvent[]> {
  const key = `${market}:${path}`;
  let events = eventsByPath.get(key);
  if (events === undefined) {
    events = recordedFrames(path).then((frames) =>
      frames.flatMap((frame) => {
        const parsed = parseFrame(frame.raw, market, receivedMicros(frame));
        return parsed.ok === true ? [parsed.event] : [];
      }),
    );
    eventsByPath.set(key, events);
  }
  return events;
}

/** freqtrade's ccxt-style aggTrades (`info` is Binance's REST aggTrade `a, p, q, f, l, T, m`) as AggTradeEvents. */
export async function freqtradeAggTrades(path: string, symbol: string): Promise<AggTradeEvent[]> {
  type RestAggTrade = { a: number; p: string; q: string; f: number; l: number; T: number; m: boolean };
  const rows = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as { info: RestAggTrade }[];
  return rows.map(({ info: { a, p, q, f, l, T, m } }) => ({
    type: 'aggTrade',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: T,
    ingestionTimestamp: T * 1000,
    aggTradeId: a,
    price: p,
    quantity: q,
    firstTradeId: f,
    lastTradeId: l,
    tradeTime: T,
    buyerIsMaker: m,
  }));
}

/** cryptofeed's BINANCE.ws file: a subscribe line, then `<unix seconds>: <json>` lines, as frames. */
export function readCryptofeed(path: string): RecordedFrame[] {
  const frames: RecordedFrame[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^(\d+(?:\.\d+)?): (\{.*\})$/.exec(line);
    if (m === null) continue;
    frames.push({ receivedNs: BigInt(Math.round(Number(m[1]) * 1e6)) * 1_000n, raw: m[2]! });
  }
  return frames;
}
