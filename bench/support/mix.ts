import WebSocket from 'ws';
import { startSimulator } from '../../src/simulator/index.js';
import { streamUrl, wireStreamName } from '../../src/sources/binance/streams.js';
import { sleep } from './children.js';

/** The generator's rate knob used for the calibration: trades/s and book updates/s per symbol. */
const CALIBRATION_K = 400;

export interface Capture {
  /** Raw combined-stream frames (`{"stream":…,"data":…}`) exactly as a client receives them. */
  readonly frames: readonly string[];
  /** Frames per second per stream type (trade, aggTrade, bookTicker, depth@100ms, kline_1m). */
  readonly perSecond: Readonly<Record<string, number>>;
  /** Frames/s that scale with the rate knob, per unit of knob per symbol. */
  readonly perKnob: number;
  /** Frames/s that do not scale (depth every 100 ms, klines every 2 s), all symbols. */
  readonly fixed: number;
}

/**
 * Runs the simulator in this process for `seconds` with one client on the same combined-stream
 * URL tickflow uses, and keeps every frame: the JSON.parse yardstick loops over them, and their
 * counts tell which generator knob gives a wanted total rate. trade, aggTrade and bookTicker scale
 * with the knob; depth and kline tick on timers.
 */
export async function captureFrames(symbols: readonly string[], streams: readonly string[], seconds: number): Promise<Capture> {
  const sim = await startSimulator({ symbols: [...symbols], seed: 3, tradesPerSecond: CALIBRATION_K, bookTickersPerSecond: CALIBRATION_K });
  const names = symbols.flatMap((s) => streams.map((st) => wireStreamName(s, st)));
  const ws = new WebSocket(streamUrl(sim.wsBaseUrl, names));
  const frames: string[] = [];
  ws.on('message', (data) => frames.push(String(data)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await sleep(seconds * 1000);
  ws.close();
  await sim.close();

  const counts: Record<string, number> = {};
  for (const f of frames) {
    const type = /"stream":"[^@"]+@([^"]+)"/.exec(f)?.[1] ?? 'other';
    counts[type] = (counts[type] ?? 0) + 1;
  }
  const perSecond: Record<string, number> = {};
  let scaling = 0;
  let fixed = 0;
  for (const [type, n] of Object.entries(counts)) {
    perSecond[type] = n / seconds;
    if (/^(trade|aggTrade|bookTicker)$/.test(type)) scaling += n / seconds;
    else fixed += n / seconds;
  }
  return { frames, perSecond, perKnob: scaling / (CALIBRATION_K * symbols.length), fixed };
}

/** The generator knob (trades/s = book updates/s per symbol) that gives about `total` frames/s. */
export function knobFor(total: number, capture: Capture, symbols: number): number {
  return Math.max(1, Math.round((total - capture.fixed) / (capture.perKnob * symbols)));
}

/** "trade 41%, aggTrade 26%, …" */
export function describeMix(perType: Readonly<Record<string, number>>): string {
  const total = Object.values(perType).reduce((a, b) => a + b, 0);
  return Object.entries(perType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${type} ${((100 * n) / total).toFixed(n / total < 0.01 ? 1 : 0)}%`)
    .join(', ');
}
