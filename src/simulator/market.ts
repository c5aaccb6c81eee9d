import { formatUnits, parseUnits } from '../core/decimal.js';
import type { Instrument } from './instruments.js';
import { Prng } from './prng.js';

/** One simulated trade: Binance trade id `t`, price and quantity as decimal strings, time epoch ms, `m`. */
export interface SimTrade {
  readonly id: number;
  readonly price: string;
  readonly qty: string;
  readonly time: number;
  readonly buyerIsMaker: boolean;
}

/** One simulated aggregated trade: its id, and the trade ids `f`..`l` it aggregates. */
export interface SimAggTrade extends SimTrade {
  readonly firstId: number;
  readonly lastId: number;
}

/** A book level `[price, qty]` as decimal strings, as in Binance depth payloads. */
export type Level = readonly [price: string, qty: string];

/** The best bid and ask after an update, with the update id (bookTicker `u`). */
export interface BookTop {
  readonly updateId: number;
  readonly bidPrice: string;
  readonly bidQty: string;
  readonly askPrice: string;
  readonly askQty: string;
}

/** The levels one book event changed (qty "0…0" removes a level) and the update ids it used. */
export interface BookChange {
  readonly firstUpdateId: number;
  readonly lastUpdateId: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
  /** Set when the best bid or ask (price or quantity) changed. */
  readonly top: BookTop | null;
  readonly time: number;
}

/** Where the market sends what happened: trades with their aggregated trades, and book changes. */
export interface MarketSink {
  trades(trades: readonly SimTrade[], aggTrades: readonly SimAggTrade[]): void;
  book(change: BookChange): void;
}

/** The book as GET /api/v3/depth answers it: lastUpdateId and the best levels per side. */
export interface BookSnapshot {
  readonly lastUpdateId: number;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

type Side = Map<number, number>;

/** The last ids a market has used before its first event: it continues from the next one. */
export interface IdOrigin {
  readonly tradeId: number;
  readonly aggTradeId: number;
  readonly updateId: number;
}

/** Room for this many trades (or aggTrades, or book updates) per millisecond per symbol. */
const IDS_PER_MS = 1_000;

/**
 * Where a market started at `epochMs` begins counting: ids continue across simulator restarts like
 * a real exchange's. A run started later starts above every id an earlier run can have used, unless
 * that run averaged more than IDS_PER_MS per millisecond per symbol. Safe integers until the year 2255.
 */
export function idsFromClock(epochMs: number): IdOrigin {
  const base = Math.floor(epochMs) * IDS_PER_MS;
  return { tradeId: base, aggTradeId: base, updateId: base };
}

const LEVELS_PER_SIDE = 30;
const PRICE_CACHE_SIZE = 10_000;
/** Mean number of fills per taker order; turns trades/s into taker orders/s. */
const FILLS_PER_TAKER = 2.2;
/** Relative volatility per sqrt(second) of the fair price (about 1 bp, like BTC on a calm day). */
const VOLATILITY = 0.0001;

/**
 * One symbol's market: a small limit order book around a random-walking fair price, hit by taker
 * orders. Every decision comes from one PRNG on a virtual timeline, so a seed fixes the whole
 * sequence of trades and book updates; the wall clock only decides when it is played and stamps
 * E/T. Takers sweep real book levels, so trade prices, aggTrade groups, bookTicker and depth diffs
 * are consistent with each other by construction.
 */
export class SymbolMarket {
  readonly instrument: Instrument;
  private readonly prng: Prng;
  private readonly bids: Side = new Map();
  private readonly asks: Side = new Map();
  private fair: number;
  private readonly levelGap: number;
  private vt = 0;
  private nextTakerAt: number;
  private nextMakerAt: number;
  private tradesPerSecond: number;
  private readonly makersPerSecond: number;
  /** The last published touch: best bid, its qty, best ask, its qty (ticks and lot steps). */
  private lastTouch: [number, number, number, number] | null = null;
  /** The book's last update id (the REST snapshot's lastUpdateId). */
  updateId: number;
  private tradeId: number;
  private aggTradeId: number;
  /** Printed prices by tick (every trade, level and top prints several). */
  private readonly prices = new Map<number, string>();
  /** Quote notional of the whale the next taker order must be (the whale fault), if any. */
  private pendingWhale: number | null = null;

  /** `ids`: the last ids before the first event (see idsFromClock); the seed decides everything else. */
  constructor(instrument: Instrument, seed: number, tradesPerSecond: number, bookUpdatesPerSecond: number, ids: IdOrigin) {
    this.instrument = instrument;
    this.prng = new Prng(seed);
    this.fair = instrument.startPrice;
    this.levelGap = Math.max(instrument.tickSize, Math.round((instrument.startPrice * 0.00002) / instrument.tickSize) * instrument.tickSize);
    this.tradesPerSecond = tradesPerSecond;
    this.makersPerSecond = bookUpdatesPerSecond;
    this.updateId = ids.updateId;
    this.tradeId = ids.tradeId;
    this.aggTradeId = ids.aggTradeId;
    this.seedBook();
    this.nextTakerAt = this.prng.exponential(this.takerRate());
    this.nextMakerAt = this.prng.exponential(this.makersPerSecond);
  }

  /** Changes the trade rate from now on (burst fault). */
  setTradesPerSecond(rate: number): void {
    this.tradesPerSecond = rate;
    this.nextTakerAt = this.vt + this.prng.exponential(this.takerRate());
  }

  /** Makes the next taker order one trade worth at least `notional` in the quote asset. */
  whale(notional: number): void {
    this.pendingWhale = notional;
  }

  /**
   * Plays the events scheduled up to virtual second `until`, stamping them with `now`, but at most
   * `maxEvents` of them: returns the virtual second reached (`until` when every event was played),
   * so that a rate the machine cannot hold slows the market down instead of blocking the caller.
   */
  advance(until: number, now: number, sink: MarketSink, maxEvents = Infinity): number {
    for (let played = 0; ; played++) {
      const takerNext = this.nextTakerAt <= this.nextMakerAt;
      const at = takerNext ? this.nextTakerAt : this.nextMakerAt;
      if (at > until) return until;
      if (played >= maxEvents) return this.vt;
      this.walkFair(at - this.vt);
      this.vt = at;
      if (takerNext) {
        this.taker(now, sink);
        this.nextTakerAt = at + this.prng.exponential(this.takerRate());
      } else {
        this.maker(now, sink);
        this.nextMakerAt = at + this.prng.exponential(this.makersPerSecond);
      }
    }
  }

  snapshot(limit: number): BookSnapshot {
    const side = (s: Side, desc: boolean): Level[] =>
      [...s.entries()]
        .sort((x, y) => (desc ? y[0] - x[0] : x[0] - y[0]))
        .slice(0, limit)
        .map(([p, q]) => [this.price(p), this.qty(q)] as const);
    return { lastUpdateId: this.updateId, bids: side(this.bids, true), asks: side(this.asks, false) };
  }

  top(): BookTop {
    const bid = best(this.bids, true);
    const ask = best(this.asks, false);
    return {
      updateId: this.updateId,
      bidPrice: this.price(bid),
      bidQty: this.qty(this.bids.get(bid) ?? 0),
      askPrice: this.price(ask),
      askQty: this.qty(this.asks.get(ask) ?? 0),
    };
  }

  price(ticks: number): string {
    let text = this.prices.get(ticks);
    if (text === undefined) {
      // The book lives on a few hundred price levels at a time; the bound only matters over days.
      if (this.prices.size >= PRICE_CACHE_SIZE) this.prices.clear();
      text = formatUnits(ticks, this.instrument.tickScale, this.instrument.priceDecimals);
      this.prices.set(ticks, text);
    }
    return text;
  }

  qty(steps: number): string {
    return formatUnits(steps, this.instrument.stepScale, this.instrument.qtyDecimals);
  }

  private takerRate(): number {
    return this.tradesPerSecond / FILLS_PER_TAKER;
  }

  private walkFair(dt: number): void {
    if (dt <= 0) return;
    this.fair = Math.max(this.levelGap * 10, this.fair + this.prng.normal() * VOLATILITY * this.fair * Math.sqrt(dt));
  }

  private seedBook(): void {
    const tick = this.instrument.tickSize;
    const mid = Math.round(this.fair / tick) * tick;
    for (let i = 0; i < LEVELS_PER_SIDE; i++) {
      this.bids.set(mid - tick - i * this.levelGap, this.levelQty());
      this.asks.set(mid + i * this.levelGap, this.levelQty());
    }
  }

  /** Mostly small sizes, a long tail, and now and then a whale (the alerts need some). */
  private takerQty(): number {
    const base = this.instrument.typicalQty * Math.exp(this.prng.normal() * 1.1);
    const whale = this.prng.chance(0.005) ? this.prng.int(200, 1_000) : 1;
    return Math.max(1, Math.round(base * whale));
  }

  private levelQty(): number {
    return Math.max(1, Math.round(this.instrument.typicalQty * 4 * Math.exp(this.prng.normal())));
  }

  private taker(now: number, sink: MarketSink): void {
    const bid = best(this.bids, true);
    const ask = best(this.asks, false);
    const mid = (bid + ask) / 2;
    // Takers lean towards the fair price, which drags the book along the random walk.
    const lean = Math.max(-0.35, Math.min(0.35, ((this.fair - mid) / (this.levelGap * 5)) * 0.35));
    const buy = this.prng.chance(0.5 + lean);
    const book = buy ? this.asks : this.bids;
    const whale = this.pendingWhale;
    this.pendingWhale = null;
    let remaining = whale === null ? this.takerQty() : this.hideWhaleMaker(book, !buy, whale);
    const trades: SimTrade[] = [];
    const aggTrades: SimAggTrade[] = [];
    const changed: [number, number][] = [];
    const firstUpdateId = this.updateId + 1;
    while (remaining > 0 && book.size > 1) {
      const level = best(book, !buy);
      const available = book.get(level) ?? 0;
      const take = Math.min(available, remaining);
      // Several resting orders at one level give several trades, aggregated into one aggTrade.
      const makers = whale === null && take > 1 && this.prng.chance(0.3) ? this.prng.int(2, Math.min(4, take)) : 1;
      const firstId = this.tradeId + 1;
      let left = take;
      for (let m = 0; m < makers; m++) {
        const part = m === makers - 1 ? left : Math.max(1, Math.floor(left / (makers - m)));
        left -= part;
        this.tradeId += 1;
        this.updateId += 1;
        trades.push({ id: this.tradeId, price: this.price(level), qty: this.qty(part), time: now, buyerIsMaker: !buy });
      }
      this.aggTradeId += 1;
      aggTrades.push({
        id: this.aggTradeId,
        price: this.price(level),
        qty: this.qty(take),
        firstId,
        lastId: this.tradeId,
        time: now,
        buyerIsMaker: !buy,
      });
      remaining -= take;
      if (take === available) book.delete(level);
      else book.set(level, available - take);
      changed.push([level, available - take]);
    }
    // A sweep moves the fair price part of the way to where it stopped (market impact).
    if (trades.length > 0) this.fair += (best(book, !buy) - this.fair) * 0.3;
    sink.trades(trades, aggTrades);
    const refill = this.refill(buy ? this.asks : this.bids, !buy);
    this.emitBook(now, firstUpdateId, buy ? [] : [...changed, ...refill], buy ? [...changed, ...refill] : [], sink);
  }

  /**
   * Adds a hidden (iceberg) order at the touch big enough for a `notional` whale and returns the
   * whale's size: it fills there in one trade, so the visible book, bookTicker and depth stay as
   * they were (hidden quantity is never published). Exact: ceil(notional / price) in lot steps.
   */
  private hideWhaleMaker(book: Side, bidSide: boolean, notional: number): number {
    const level = best(book, bidSide);
    const scale = this.instrument.tickScale + this.instrument.stepScale;
    const wanted = parseUnits(notional.toFixed(scale), scale);
    const steps = Number((wanted + BigInt(level) - 1n) / BigInt(level));
    book.set(level, (book.get(level) ?? 0) + steps);
    return steps;
  }

  private maker(now: number, sink: MarketSink): void {
    const buySide = this.prng.chance(0.5);
    const book = buySide ? this.bids : this.asks;
    const changes: [number, number][] = [];
    const firstUpdateId = this.updateId + 1;
    if (this.prng.chance(0.65) || book.size <= 3) {
      // Quote around the fair price: mostly at the touch, sometimes a few levels deeper.
      const price = this.quotePrice(buySide, Math.floor(this.prng.exponential(1) * 1.5));
      const qty = (book.get(price) ?? 0) + this.levelQty();
      book.set(price, qty);
      changes.push([price, qty]);
    } else {
      // Cancel part or all of one of the best three levels.
      const levels = [...book.keys()].sort((x, y) => (buySide ? y - x : x - y)).slice(0, 3);
      const price = levels[this.prng.int(0, levels.length - 1)] ?? 0;
      const qty = this.prng.chance(0.5) ? 0 : Math.floor((book.get(price) ?? 0) / 2);
      if (qty === 0) book.delete(price);
      else book.set(price, qty);
      changes.push([price, qty]);
    }
    this.updateId += changes.length;
    changes.push(...this.refill(book, buySide), ...this.trim(book, buySide));
    this.emitBook(now, firstUpdateId, buySide ? changes : [], buySide ? [] : changes, sink);
  }

  /** A maker's price `level` gaps away from the fair price, never crossing the other side. */
  private quotePrice(bidSide: boolean, level: number): number {
    const tick = this.instrument.tickSize;
    // Bid at the tick below the fair price, ask at the tick above: the mid is unbiased.
    const floor = Math.floor(this.fair / tick) * tick;
    if (bidSide) return Math.min(floor - level * this.levelGap, best(this.asks, false) - tick);
    return Math.max(floor + tick + level * this.levelGap, best(this.bids, true) + tick);
  }

  /** Keeps a side at LEVELS_PER_SIDE levels, filling in from the fair price outwards. */
  private refill(book: Side, bidSide: boolean): [number, number][] {
    const added: [number, number][] = [];
    for (let level = 0; book.size < LEVELS_PER_SIDE && level < LEVELS_PER_SIDE * 3; level++) {
      const price = this.quotePrice(bidSide, level);
      if (price <= 0 || book.has(price)) continue;
      const qty = this.levelQty();
      book.set(price, qty);
      added.push([price, qty]);
      this.updateId += 1;
    }
    return added;
  }

  /** Drops the deepest levels beyond LEVELS_PER_SIDE (keeps the book near the price). */
  private trim(book: Side, bidSide: boolean): [number, number][] {
    const removed: [number, number][] = [];
    while (book.size > LEVELS_PER_SIDE) {
      const edge = worst(book, bidSide);
      book.delete(edge);
      removed.push([edge, 0]);
      this.updateId += 1;
    }
    return removed;
  }

  private emitBook(now: number, firstUpdateId: number, bids: [number, number][], asks: [number, number][], sink: MarketSink): void {
    if (bids.length === 0 && asks.length === 0) return;
    // The touch in ticks and steps: printed (and a BookTop built) only when it changed.
    const bid = best(this.bids, true);
    const ask = best(this.asks, false);
    const bidQty = this.bids.get(bid) ?? 0;
    const askQty = this.asks.get(ask) ?? 0;
    const last = this.lastTouch;
    const topChanged = last === null || last[0] !== bid || last[1] !== bidQty || last[2] !== ask || last[3] !== askQty;
    if (topChanged) this.lastTouch = [bid, bidQty, ask, askQty];
    sink.book({
      firstUpdateId: Math.min(firstUpdateId, this.updateId),
      lastUpdateId: this.updateId,
      bids: this.levels(bids),
      asks: this.levels(asks),
      top: topChanged
        ? { updateId: this.updateId, bidPrice: this.price(bid), bidQty: this.qty(bidQty), askPrice: this.price(ask), askQty: this.qty(askQty) }
        : null,
      time: now,
    });
  }

  /** Changed levels as printed [price, qty] pairs, the last change of a price winning. */
  private levels(changes: [number, number][]): Level[] {
    return dedupe(changes).map(([p, q]) => [this.price(p), this.qty(q)] as const);
  }
}

function best(side: Side, highest: boolean): number {
  let out = highest ? -Infinity : Infinity;
  for (const p of side.keys()) if (highest ? p > out : p < out) out = p;
  return out;
}

function worst(side: Side, bidSide: boolean): number {
  return best(side, !bidSide);
}

/** Last write per price wins (a level changed twice in one event is sent once). */
function dedupe(changes: [number, number][]): [number, number][] {
  return [...new Map(changes).entries()];
}
