import { performance } from 'node:perf_hooks';
import type { Market } from '../core/events.js';
import { parseUnits } from '../core/decimal.js';
import { BoundedHistory } from './history.js';
import type { Hub } from './hub.js';
import { type Instrument, instrumentFor } from './instruments.js';
import { KLINE_INTERVALS, klineOpenTime } from '../core/intervals.js';
import { type KlineBuilder as Kline, KlineBuilder, type KlineDecimals, tradeUnits } from './klines.js';
import { type BookChange, type BookSnapshot, type BookTop, idsFromClock, type SimAggTrade, type SimTrade, SymbolMarket } from './market.js';
import type { MarketEngine } from './types.js';
import { deriveSeed } from './prng.js';

/** The generated market: symbols, market, PRNG seed, rates per symbol (per second), recent trades kept for REST. */
export interface GeneratorOptions {
  readonly symbols: readonly string[];
  readonly market: Market;
  readonly seed: number;
  readonly tradesPerSecond: number;
  readonly bookTickersPerSecond: number;
  readonly historySize: number;
  /** Epoch ms: the markets' time and their event times read it (SimulatorOptions.clock). */
  readonly clock: () => number;
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
  /** Stream names (`btcusdt@trade`), built once: every frame needs one. */
  readonly names: { readonly trade: string; readonly aggTrade: string; readonly bookTicker: string };
}

const TICK_MS = 20;
/**
 * A step plays the markets for this long at most, in rounds of EVENTS_PER_ROUND events per symbol,
 * then lets the event loop run (I/O, the socket writes of what it played) and continues on the
 * next turn of the loop. A rate the machine cannot hold (a burst of millions per second, a starved
 * CPU) thus never keeps upgrades, REST calls or faults waiting for long.
 */
const STEP_BUDGET_MS = 10;
const EVENTS_PER_ROUND = 200;
/** How far the markets may fall behind the clock before they slow down instead of catching up. */
const MAX_LAG_S = 1;

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
  private readonly clock: () => number;
  /** Market time (seconds since start) at which the running burst ends, if one runs. */
  private burstEndsAt: number | null = null;
  private startedAt = 0;
  private klineTicks = 0;
  private slowedMs = 0;
  private catchUp: NodeJS.Immediate | null = null;

  constructor(opts: GeneratorOptions, hub: Hub) {
    this.hub = hub;
    this.market = opts.market;
    this.baseRate = opts.tradesPerSecond;
    this.clock = opts.clock;
    // Ids from the clock, not the seed: a restarted simulator must not send old ids with new trades.
    const ids = idsFromClock(this.clock());
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
        names: {
          trade: this.stream(instrument.symbol, 'trade'),
          aggTrade: this.stream(instrument.symbol, 'aggTrade'),
          bookTicker: this.stream(instrument.symbol, 'bookTicker'),
        },
      });
    }
  }

  start(): void {
    const now = this.clock();
    this.startedAt = now;
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
    if (this.catchUp !== null) clearImmediate(this.catchUp);
    this.catchUp = null;
  }

  /** Milliseconds the markets were slowed down because the machine could not play them in real time. */
  slowedDownMs(): number {
    return Math.round(this.slowedMs);
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

  /**
   * Raises every symbol's trade rate for `durationMs` of market time (burst fault): a market the
   * machine slows down still plays the whole burst, and an injected clock steps through it.
   */
  burst(ratePerSec: number, durationMs: number): void {
    // Catch the markets up to now first, so the new rate applies from now on virtual time too.
    this.step();
    for (const s of this.symbols.values()) s.market.setTradesPerSecond(ratePerSec);
    this.burstEndsAt = this.marketTime(this.clock()) + durationMs / 1_000;
  }

  whale(symbol: string, notional: number): void {
    // Catch up first, so the whale is the next trade from now on, not one already due.
    this.step();
    this.symbols.get(symbol)?.market.whale(notional);
  }

  /** Seconds of market time at epoch ms `now`. */
  private marketTime(now: number): number {
    return (now - this.startedAt) / 1_000;
  }

  private step(): void {
    const now = this.clock();
    const until = this.marketTime(now);
    if (this.burstEndsAt !== null && until >= this.burstEndsAt) {
      // The burst's rate up to its end (a market still behind goes on with it next step), the base rate after it.
      if (!this.play(this.burstEndsAt, now)) return;
      this.burstEndsAt = null;
      for (const s of this.symbols.values()) s.market.setTradesPerSecond(this.baseRate);
    }
    this.play(until, now);
  }

  /**
   * Plays every market up to `until` (market seconds), with `now` (epoch ms) as event time. False
   * when the step budget ran out first: the rest is played on the next turn of the event loop.
   */
  private play(until: number, now: number): boolean {
    const started = performance.now();
    // Every symbol plays at least one round per step, however starved the machine.
    let behind: SymbolState[] = [...this.symbols.values()];
    let reachedMin = until;
    do {
      const still: SymbolState[] = [];
      reachedMin = until;
      for (const state of behind) {
        const sink = {
          trades: (trades: readonly SimTrade[], aggTrades: readonly SimAggTrade[]) => this.onTrades(state, trades, aggTrades, now),
          book: (change: BookChange) => this.onBook(state, change),
        };
        const reached = state.market.advance(until, now, sink, EVENTS_PER_ROUND);
        if (reached < until) {
          still.push(state);
          reachedMin = Math.min(reachedMin, reached);
        }
      }
      behind = still;
    } while (behind.length > 0 && performance.now() - started < STEP_BUDGET_MS);
    if (behind.length === 0) return true;
    // Behind by more than MAX_LAG_S: the clock of the markets slows down (virtual time is the
    // seeded timeline, so the market stays the same, only played slower) rather than replaying
    // the backlog as a flood once the machine has time again.
    const lag = until - reachedMin;
    if (lag > MAX_LAG_S) {
      this.startedAt += (lag - MAX_LAG_S) * 1_000;
      this.slowedMs += (lag - MAX_LAG_S) * 1_000;
    }
    this.catchUp ??= setImmediate(() => {
      this.catchUp = null;
      this.step();
    });
    return false;
  }

  private stream(symbol: string, name: string): string {
    return `${symbol.toLowerCase()}@${name}`;
  }

  /**
   * Payloads are written as template strings in Binance's field order (the same text
   * JSON.stringify gave, at a fraction of the cost); prices and quantities are decimal strings
   * without characters that need escaping. `E` is the tick's time: the frames of a tick leave together.
   */
  private onTrades(state: SymbolState, trades: readonly SimTrade[], aggTrades: readonly SimAggTrade[], now: number): void {
    const symbol = state.market.instrument.symbol;
    const spot = this.market === 'spot';
    const { trade: tradeStream, aggTrade: aggStream } = state.names;
    const sendTrades = this.hub.hasSubscribers(tradeStream);
    for (const t of trades) {
      state.trades.push(t);
      this.rollKlines(state, t.time);
      const units = tradeUnits(t);
      for (const k of state.klines.values()) k.addUnits(units);
      if (!sendTrades) continue;
      const data = spot
        ? `{"e":"trade","E":${now},"s":"${symbol}","t":${t.id},"p":"${t.price}","q":"${t.qty}","T":${t.time},"m":${t.buyerIsMaker},"M":true}`
        : `{"e":"trade","E":${now},"T":${t.time},"s":"${symbol}","t":${t.id},"p":"${t.price}","q":"${t.qty}","X":"MARKET","m":${t.buyerIsMaker}}`;
      this.hub.publish({ stream: tradeStream, data, firstId: t.id, lastId: t.id });
    }
    const sendAggTrades = this.hub.hasSubscribers(aggStream);
    for (const a of aggTrades) {
      state.aggTrades.push(a);
      if (!sendAggTrades) continue;
      const data = spot
        ? `{"e":"aggTrade","E":${now},"s":"${symbol}","a":${a.id},"p":"${a.price}","q":"${a.qty}","f":${a.firstId},"l":${a.lastId},"T":${a.time},"m":${a.buyerIsMaker},"M":true}`
        : `{"e":"aggTrade","E":${now},"a":${a.id},"s":"${symbol}","p":"${a.price}","q":"${a.qty}","f":${a.firstId},"l":${a.lastId},"T":${a.time},"m":${a.buyerIsMaker}}`;
      this.hub.publish({ stream: aggStream, data, firstId: a.id, lastId: a.id });
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
    const stream = state.names.bookTicker;
    if (top === null || !this.hub.hasSubscribers(stream)) return;
    const s = state.market.instrument.symbol;
    const base = `"u":${top.updateId},"s":"${s}","b":"${top.bidPrice}","B":"${top.bidQty}","a":"${top.askPrice}","A":"${top.askQty}"`;
    const data = this.market === 'spot' ? `{${base}}` : `{"e":"bookTicker",${base},"T":${change.time},"E":${change.time}}`;
    this.hub.publish({ stream, data, firstId: top.updateId, lastId: top.updateId });
  }

  private flushDepth(speed: 'fast' | 'slow'): void {
    const names = speed === 'fast' ? ['depth@100ms'] : ['depth', 'depth@1000ms'];
    for (const state of this.symbols.values()) {
      const buffer = state.depth[speed];
      if (buffer.bids.size === 0 && buffer.asks.size === 0) continue;
      const levels = (m: Map<string, string>, desc: boolean) => [...m.entries()].sort((x, y) => (desc ? 1 : -1) * (Number(y[0]) - Number(x[0])));
      const now = this.clock();
      const base = { e: 'depthUpdate', E: now, s: state.market.instrument.symbol, U: buffer.firstUpdateId, u: buffer.lastUpdateId };
      const data =
        this.market === 'spot'
          ? { ...base, b: levels(buffer.bids, true), a: levels(buffer.asks, false) }
          : { ...base, T: now, pu: buffer.previousFinal, b: levels(buffer.bids, true), a: levels(buffer.asks, false) };
      const text = JSON.stringify(data);
      for (const name of names) {
        const stream = this.stream(state.market.instrument.symbol, name);
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
    const now = this.clock();
    for (const state of this.symbols.values()) {
      this.rollKlines(state, now);
      for (const k of state.klines.values()) {
        if (k.interval === '1s' || this.klineTicks % 2 === 0) this.publishKline(state, k, false);
      }
    }
  }

  private publishKline(state: SymbolState, k: Kline, closed: boolean): void {
    const stream = this.stream(state.market.instrument.symbol, `kline_${k.interval}`);
    if (!this.hub.hasSubscribers(stream)) return;
    const s = state.market.instrument.symbol;
    const data = { e: 'kline', E: this.clock(), s, k: k.wsKline(s, closed, state.decimals) };
    this.hub.publish({ stream, data: JSON.stringify(data), firstId: k.openTime, lastId: k.openTime });
  }
}
