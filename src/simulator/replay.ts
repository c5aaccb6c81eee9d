import { basename } from 'node:path';
import type { Market } from '../core/events.js';
import { readRecording, type RecordedFrame } from '../sources/replay/recording.js';
import { BoundedHistory } from './history.js';
import { FaultRequestError } from './faults.js';
import type { Hub } from './hub.js';
import { type Instrument, instrumentFor } from './instruments.js';
import type { KlineDecimals } from './klines.js';
import type { BookSnapshot, BookTop, SimAggTrade, SimTrade } from './market.js';
import type { MarketEngine } from './types.js';

/** Recordings to replay, at what speed, for which market, with how many recent trades kept for REST. */
export interface ReplayOptions {
  readonly files: readonly string[];
  /** 0 = as fast as the clients take it, 1 = real time, 10 = ten times faster. */
  readonly speed: number;
  readonly market: Market;
  readonly historySize: number;
}

interface ReplaySymbol {
  readonly instrument: Instrument;
  readonly trades: BoundedHistory<SimTrade>;
  readonly aggTrades: BoundedHistory<SimAggTrade>;
  snapshot: BookSnapshot | null;
  top: BookTop | null;
}

const ENVELOPE = /^\{"stream":"([^"]+)","data":/;
/** Queue this much towards a client before a speed-0 replay waits for it. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;
const DECIMALS: KlineDecimals = { price: 8, qty: 8, quote: 8 };

/** ids for emitted(): trade `t`, aggTrade `a`, bookTicker `u`, depth `U`..`u`, kline `k.t`. */
function idsOf(stream: string, data: Record<string, unknown>): [number, number] {
  const kind = stream.slice(stream.indexOf('@') + 1);
  if (kind === 'trade') return [Number(data.t), Number(data.t)];
  if (kind === 'aggTrade') return [Number(data.a), Number(data.a)];
  if (kind === 'bookTicker') return [Number(data.u), Number(data.u)];
  if (kind.startsWith('depth')) return [Number(data.U), Number(data.u)];
  const k = data.k as { t?: number } | undefined;
  return [Number(k?.t ?? 0), Number(k?.t ?? 0)];
}

/**
 * Sends recorded frames (shared/data format) to the clients subscribed to their stream, paced
 * by the recorded receive times. Several files are merged by receive time. The replay starts when
 * the first client subscribes, so that a test sees the recording from its first line. Recorded
 * trades, the REST depth snapshot line and the last bookTicker back the REST endpoints.
 */
export class Replayer implements MarketEngine {
  private readonly opts: ReplayOptions;
  private readonly hub: Hub;
  private readonly symbols = new Map<string, ReplaySymbol>();
  private stopped = false;
  private readonly abort = new AbortController();
  /** Resolves when every file has been sent (or the replay was stopped). */
  finished: Promise<void> = Promise.resolve();

  constructor(opts: ReplayOptions, hub: Hub) {
    this.opts = opts;
    this.hub = hub;
  }

  start(): void {
    // A recording that breaks halfway ends the replay; the clients simply stop getting frames.
    this.finished = this.run().catch((err: unknown) => {
      process.emitWarning(`replay stopped: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.finished;
  }

  /** A replay plays what was recorded: bursts do not apply. */
  burst(): void {}

  /** A replay at speed 0 goes as fast as the clients take it; a paced one waits for its times. */
  slowedDownMs(): number {
    return 0;
  }

  whale(): void {
    throw new FaultRequestError('a replay plays what was recorded: it cannot inject a whale');
  }

  instruments(): readonly Instrument[] {
    return [...this.symbols.values()].map((s) => s.instrument);
  }

  history(symbol: string) {
    const s = this.symbols.get(symbol);
    return s === undefined ? undefined : { trades: s.trades, aggTrades: s.aggTrades, decimals: DECIMALS };
  }

  depth(symbol: string, limit: number): BookSnapshot | undefined {
    const snap = this.symbols.get(symbol)?.snapshot;
    return snap ? { lastUpdateId: snap.lastUpdateId, bids: snap.bids.slice(0, limit), asks: snap.asks.slice(0, limit) } : undefined;
  }

  top(symbol: string): BookTop | undefined {
    return this.symbols.get(symbol)?.top ?? undefined;
  }

  /** Waits `ms`, or less if the replay is stopped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  private symbol(name: string): ReplaySymbol {
    const upper = name.toUpperCase();
    let s = this.symbols.get(upper);
    if (s === undefined) {
      s = {
        instrument: instrumentFor(upper, this.opts.market),
        trades: new BoundedHistory(this.opts.historySize),
        aggTrades: new BoundedHistory(this.opts.historySize),
        snapshot: null,
        top: null,
      };
      this.symbols.set(upper, s);
    }
    return s;
  }

  private async run(): Promise<void> {
    // Recordings are named <symbol>_<date>.gz; the REST snapshot line carries no symbol.
    const fileSymbols = this.opts.files.map((f) => basename(f).split(/[_.]/)[0] ?? 'UNKNOWN');
    for (const name of fileSymbols) this.symbol(name);
    const readers = this.opts.files.map((f) => readRecording(f));
    const heads: (RecordedFrame | undefined)[] = await Promise.all(readers.map(async (r) => (await r.next()).value ?? undefined));
    while (!this.stopped && !this.hub.hasAnySubscriber()) await this.sleep(20);
    const startedAt = Date.now();
    let firstNs: bigint | null = null;
    let sent = 0;
    try {
      while (!this.stopped) {
        let i = -1;
        heads.forEach((h, j) => {
          if (h !== undefined && (i < 0 || h.receivedNs < (heads[i]?.receivedNs ?? 0n))) i = j;
        });
        const frame = heads[i];
        if (frame === undefined) return;
        firstNs ??= frame.receivedNs;
        if (this.opts.speed > 0) {
          const due = startedAt + Number(frame.receivedNs - firstNs) / 1e6 / this.opts.speed;
          if (due > Date.now()) await this.sleep(due - Date.now());
        } else if (++sent % 256 === 0) {
          while (!this.stopped && this.hub.backlog() > MAX_BACKLOG_BYTES) await this.sleep(5);
          await new Promise((resolve) => setImmediate(resolve));
        }
        this.play(frame.raw, fileSymbols[i] ?? '');
        heads[i] = (await readers[i]?.next())?.value ?? undefined;
      }
    } finally {
      await Promise.all(readers.map((r) => r.return(undefined)));
    }
  }

  private play(raw: string, fileSymbol: string): void {
    const m = ENVELOPE.exec(raw);
    if (m === null) {
      this.rememberSnapshot(raw, fileSymbol);
      return;
    }
    const stream = m[1] ?? '';
    const data = raw.slice(m[0].length, -1);
    const kind = stream.slice(stream.indexOf('@') + 1);
    const listened = this.hub.hasSubscribers(stream);
    if (!listened && kind !== 'trade' && kind !== 'bookTicker') return;
    const payload = JSON.parse(data) as Record<string, unknown>;
    const symbol = this.symbol(stream.slice(0, stream.indexOf('@')));
    if (kind === 'trade') {
      symbol.trades.push({
        id: Number(payload.t),
        price: String(payload.p),
        qty: String(payload.q),
        time: Number(payload.T),
        buyerIsMaker: payload.m === true,
      });
    } else if (kind === 'bookTicker') {
      symbol.top = {
        updateId: Number(payload.u),
        bidPrice: String(payload.b),
        bidQty: String(payload.B),
        askPrice: String(payload.a),
        askQty: String(payload.A),
      };
    }
    if (!listened) return;
    const [firstId, lastId] = idsOf(stream, payload);
    this.hub.publish({ stream, data, firstId, lastId });
  }

  private rememberSnapshot(raw: string, fileSymbol: string): void {
    try {
      const snap = JSON.parse(raw) as BookSnapshot;
      if (typeof snap.lastUpdateId === 'number') this.symbol(fileSymbol).snapshot = snap;
    } catch {
      // Not a snapshot either: nothing a client subscribed to.
    }
  }
}
