import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MarketEvent, PipelineEvent, TradeEvent } from '../../src/core/events.js';
import { pushWithPayload } from '../../src/core/payloads.js';
import { parseFrame } from '../../src/sources/binance/parse.js';
import { receivedMicros, recordedFrames } from '../../test/support/recordings.js';

const DATA = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'shared', 'data', 'binance-spot-ws');
const FILES = ['btcusdt_20240808.gz', 'btcusdt_20240809.gz', 'ethusdt_20240808.gz', 'ethusdt_20240809.gz'];

export interface Frame {
  readonly raw: string;
  readonly event: MarketEvent;
}

/** The real recorded spot trades (BTCUSDT + ETHUSDT, 2024-08-08/09), interleaved by arrival. */
export async function loadRecordedTrades(): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (const file of FILES) {
    const path = join(DATA, file);
    if (!existsSync(path)) throw new Error(`bench needs ${path} (../shared/data beside the repo)`);
    for (const f of await recordedFrames(path)) {
      if (!f.raw.includes('@trade"')) continue;
      const parsed = parseFrame(f.raw, 'spot', receivedMicros(f));
      if (parsed.ok === true) frames.push({ raw: f.raw, event: parsed.event });
    }
  }
  return frames.sort((a, b) => a.event.ingestionTimestamp - b.event.ingestionTimestamp);
}

/**
 * Spot trades as ingest publishes them: each with Binance's payload in Binance's field order, so the
 * Kafka bus writes schema 2 (docs/kafka.md) — also for events shifted in time and ids.
 */
export function withPayloads(batch: readonly TradeEvent[]): PipelineEvent[] {
  const out: PipelineEvent[] = [];
  for (const e of batch) {
    const text = `{"e":"trade","E":${e.eventTime},"s":"${e.symbol}","t":${e.tradeId},"p":"${e.price}","q":"${e.quantity}","T":${e.tradeTime},"m":${e.buyerIsMaker},"M":true}`;
    pushWithPayload(out, e, { text, timeUnit: 'MILLISECOND' });
  }
  return out;
}

/** Trade ids of one pass lie this far above the previous pass's: far beyond a recording's id range. */
const PASS_IDS = 10_000_000_000;

/**
 * `trade` as pass `pass` (0: unchanged) of a recording replayed again and again: its event, trade and
 * ingestion times `pass × shiftMs` later (ms; the ingestion time in µs) and its id `pass × 10^10`
 * higher, so that every pass is new to the natural keys and to the windows.
 */
export function shiftedTrade(trade: TradeEvent, pass: number, shiftMs: number): TradeEvent {
  return {
    ...trade,
    eventTime: trade.eventTime + pass * shiftMs,
    tradeTime: trade.tradeTime + pass * shiftMs,
    ingestionTimestamp: trade.ingestionTimestamp + pass * shiftMs * 1000,
    tradeId: trade.tradeId + pass * PASS_IDS,
  };
}
