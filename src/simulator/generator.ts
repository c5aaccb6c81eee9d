import { performance } from 'node:perf_hooks';
import type { Market } from '../core/events.js';
import { parseUnits } from './decimal.js';
import { BoundedHistory } from './history.js';
import type { Hub } from './hub.js';
import { type Instrument, instrumentFor } from './instruments.js';
import { KLINE_INTERVALS, type KlineBuilder as Kline, KlineBuilder, type KlineDecimals, klineOpenTime } from './klines.js';
import { type BookChange, type BookSnapshot, type BookTop, idsFromClock, type SimAggTrade, type SimTrade, SymbolMarket } from './market.js';
import type { MarketEngine } from './types.js';
import { deriveSeed } from './prng.js';

export interface GeneratorOptions {
  readonly symbols: readonly string[];
  readonly market: Market;
  readonly seed: number;
  readonly tradesPerSecond: number;
  readonly bookTickersPerSecond: number;
  readonly historySize: number;
}

interface DepthBuffer {
  readonly bids: Map<string, string>;
  readonly asks: Map<string, string>;
  firstUpdateId: number;
  lastUpdateId: number;
  /** USD-M `pu`: the final update id of the previous event on this stream. */
  previousFinal: number;
}

/** Everything the simulator knows about one symbol; REST reads it, the generator writes it. */
export interface SymbolState {
  readonly market: SymbolMarket;
  readonly trades: BoundedHistory<SimTrade>;
  readonly aggTrades: BoundedHistory<SimAggTrade>;
  readonly klines: Map<string, Kline>;
  readonly depth: { readonly fast: DepthBuffer; readonly slow: DepthBuffer };
  readonly decimals: KlineDecimals;
}

const TICK_MS = 20;

/**
 * Plays the seeded markets against the wall clock and turns them into Binance frames for the
 * streams somebody subscribed to. The markets advance whether or not anybody listens, so a client
 * that reconnects sees the ids it missed as a gap, as on Binance.
 */
export class Generator implements MarketEngine {
  readonly symbols = new Map<string, SymbolState>();
  private readonly hub: Hub;
  private readonly market: Market;
  private readonly baseRate: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private burstTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private klineTicks = 0;

  constructor(opts: GeneratorOptions, hub: Hub) {
    this.hub = hub;
    this.market = opts.market;
    this.baseRate = opts.tradesPerSecond;
    // Ids from the clock, not the seed: a restarted simulator must not send old ids with new trades.
    const ids = idsFromClock(Date.now());
    for (const symbol of opts.symbols) {
      const instrument = instrumentFor(symbol, opts.market);
      const market = new SymbolMarket(instrument, deriveSeed(opts.seed, instrument.symbol), opts.tradesPerSecond, opts.bookTickersPerSecond, ids);
      const decimals: KlineDecimals =
        opts.market === 'spot'
          ? { price: 8, qty: 8, quote: 8 }
          : { price: instrument.priceDecimals, qty: instrument.qtyDecimals, quote: instrument.priceDecimals + instrument.qtyDecimals };
      const depthBuffer = (): DepthBuffer => ({ bids: new Map(), asks: new Map(), firstUpdateId: 0, lastUpdateId: 0, previousFinal: market.updateId });
      this.symbols.set(instrument.symbol, {
        market,
        trades: new BoundedHistory(opts.historySize),
        aggTrades: new BoundedHistory(opts.historySize),
        klines: new Map(),
        depth: { fast: depthBuffer(), slow: depthBuffer() },
        decimals,
      });
    }
  }

  start(): void {
    this.startedAt = performance.now();
    const now = Date.now();
    for (const state of this.symbols.values()) {
      const open = parseUnits(state.market.price(state.market.instrument.startPrice), 8);
      for (const interval of KLINE_INTERVALS) state.klines.set(interval, new KlineBuilder(interval, klineOpenTime(interval, now), open));
    }
    this.timers.push(setInterval(() => this.step(), TICK_MS));
    this.timers.push(setInterval(() => this.flushDepth('fast'), 100));
    this.timers.push(setInterval(() => this.flushDepth('slow'), 1_000));
    this.timers.push(setInterval(() => this.tickKlines(), 1_000));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    if (this.burstTimer !== null) clearTimeout(this.burstTimer);
  }

  instruments(): readonly Instrument[] {
    return [...this.symbols.values()].map((s) => s.market.instrument);
  }

  history(symbol: string): SymbolState | undefined {
    return this.symbols.get(symbol);
  }

  depth(symbol: string, limit: number): BookSnapshot | undefined {
    return this.symbols.get(symbol)?.market.snapshot(limit);
  }

  top(symbol: string): BookTop | undefined {
    return this.symbols.get(symbol)?.market.top();
  }

  /** Raises every symbol's trade rate for a while (burst fault). */
  burst(ratePerSec: number, durationMs: number): void {
    // Catch the markets up to now first, so the new rate applies from now on virtual time too.
    this.step();
    for (const s of this.symbols.values()) s.market.setTradesPerSecond(ratePerSec);
    if (this.burstTimer !== null) clearTimeout(this.burstTimer);
    this.burstTimer = setTimeout(() => {
      this.burstTimer = null;
      this.step();
      for (const s of this.symbols.values()) s.market.setTradesPerSecond(this.baseRate);
    }, durationMs);
  }

  whale(symbol: string, notional: number): void {
    // Catch up first, so the whale is the next trade from now on, not one already due.
    this.step();
    this.symbols.get(symbol)?.market.whale(notional);
  }

  private step(): void {
    const until = (performance.now() - this.startedAt) / 1_000;
    const now = Date.now();
    for (const state of this.symbols.values()) {
      state.market.advance(until, now, {
        trades: (trades, aggTrades) => this.onTrades(state, trades, aggTrades),
        book: (change) => this.onBook(state, change),
      });
    }
  }

  private stream(state: SymbolState, name: string): string {
    return `${state.market.instrument.symbol.toLowerCase()}@${name}`;
  }

  private onTrades(state: SymbolState, trades: readonly SimTrade[], aggTrades: readonly SimAggTrade[]): void {
    const symbol = state.market.instrument.symbol;
    const spot = this.market === 'spot';
    const tradeStream = this.stream(state, 'trade');
    const aggStream = this.stream(state, 'aggTrade');
    for (const t of trades) {
      state.trades.push(t);
      this.rollKlines(state, t.time);
      for (const k of state.klines.values()) k.add(t);
      if (!this.hub.hasSubscribers(tradeStream)) continue;
      const data = spot
        ? { e: 'trade', E: Date.now(), s: symbol, t: t.id, p: t.price, q: t.qty, T: t.time, m: t.buyerIsMaker, M: true }
        : { e: 'trade', E: Date.now(), T: t.time, s: symbol, t: t.id, p: t.price, q: t.qty, X: 'MARKET', m: t.buyerIsMaker };
      this.hub.publish({ stream: tradeStream, data: JSON.stringify(data), firstId: t.id, lastId: t.id });
    }
    for (const a of aggTrades) {
      state.aggTrades.push(a);
      if (!this.hub.hasSubscribers(aggStream)) continue;
      const data = spot
        ? { e: 'aggTrade', E: Date.now(), s: symbol, a: a.id, p: a.price, q: a.qty, f: a.firstId, l: a.lastId, T: a.time, m: a.buyerIsMaker, M: true }
        : { e: 'aggTrade', E: Date.now(), a: a.id, s: symbol, p: a.price, q: a.qty, f: a.firstId, l: a.lastId, T: a.time, m: a.buyerIsMaker };
      this.hub.publish({ stream: aggStream, data: JSON.stringify(data), firstId: a.id, lastId: a.id });
    }
  }

  private onBook(state: SymbolState, change: BookChange): void {
    for (const buffer of [state.depth.fast, state.depth.slow]) {
      if (buffer.bids.size === 0 && buffer.asks.size === 0) buffer.firstUpdateId = change.firstUpdateId;
      buffer.lastUpdateId = change.lastUpdateId;
      for (const [p, q] of change.bids) buffer.bids.set(p, q);
      for (const [p, q] of change.asks) buffer.asks.set(p, q);
    }
    const top = change.top;
    const stream = this.stream(state, 'bookTicker');
    if (top === null || !this.hub.hasSubscribers(stream)) return;
    const s = state.market.instrument.symbol;
    const base = { u: top.updateId, s, b: top.bidPrice, B: top.bidQty, a: top.askPrice, A: top.askQty };
    const data = this.market === 'spot' ? base : { e: 'bookTicker', ...base, T: change.time, E: Date.now() };
    this.hub.publish({ stream, data: JSON.stringify(data), firstId: top.updateId, lastId: top.updateId });
  }

  private flushDepth(speed: 'fast' | 'slow'): void {
    const names = speed === 'fast' ? ['depth@100ms'] : ['depth', 'depth@1000ms'];
    for (const state of this.symbols.values()) {
      const buffer = state.depth[speed];
      if (buffer.bids.size === 0 && buffer.asks.size === 0) continue;
      const levels = (m: Map<string, string>, desc: boolean) =>
        [...m.entries()].sort((x, y) => (desc ? 1 : -1) * (Number(y[0]) - Number(x[0])));
      const now = Date.now();
      const base = { e: 'depthUpdate', E: now, s: state.market.instrument.symbol, U: buffer.firstUpdateId, u: buffer.lastUpdateId };
      const data =
        this.market === 'spot'
          ? { ...base, b: levels(buffer.bids, true), a: levels(buffer.asks, false) }
          : { ...base, T: now, pu: buffer.previousFinal, b: levels(buffer.bids, true), a: levels(buffer.asks, false) };
      const text = JSON.stringify(data);
      for (const name of names) {
        const stream = this.stream(state, name);
        if (this.hub.hasSubscribers(stream)) this.hub.publish({ stream, data: text, firstId: buffer.firstUpdateId, lastId: buffer.lastUpdateId });
      }
      buffer.previousFinal = buffer.lastUpdateId;
      buffer.bids.clear();
      buffer.asks.clear();
    }
  }

  /** Closes candles whose time is over (x=true), opening the next with the previous close. */
  private rollKlines(state: SymbolState, time: number): void {
    for (const [interval, k] of state.klines) {
      if (time <= k.closeTime) continue;
      this.publishKline(state, k, true);
      state.klines.set(interval, new KlineBuilder(k.interval, klineOpenTime(k.interval, time), k.lastPrice));
    }
  }

  /** Binance pushes the open candle every second for 1s klines and every 2 s for the others. */
  private tickKlines(): void {
    this.klineTicks += 1;
    const now = Date.now();
    for (const state of this.symbols.values()) {
      this.rollKlines(state, now);
      for (const k of state.klines.values()) {
        if (k.interval === '1s' || this.klineTicks % 2 === 0) this.publishKline(state, k, false);
      }
    }
  }

  private publishKline(state: SymbolState, k: Kline, closed: boolean): void {
    const stream = this.stream(state, `kline_${k.interval}`);
    if (!this.hub.hasSubscribers(stream)) return;
    const s = state.market.instrument.symbol;
    const data = { e: 'kline', E: Date.now(), s, k: k.wsKline(s, closed, state.decimals) };
    this.hub.publish({ stream, data: JSON.stringify(data), firstId: k.openTime, lastId: k.openTime });
  }
}
