import type { Decimal, PriceLevel } from '../core/events.js';

/** The best level of one side, or null when the side is empty. */
export interface BestLevel {
  readonly price: Decimal;
  readonly qty: Decimal;
}

/** "0.00000000", "0", "0.000": Binance's way of saying "remove this level". */
function isZero(qty: string): boolean {
  for (let i = 0; i < qty.length; i++) {
    const c = qty.charCodeAt(i);
    if (c !== 48 /* 0 */ && c !== 46 /* . */) return false;
  }
  return true;
}

/**
 * One side of a price-level book. Prices and quantities are kept as the exchange's decimal
 * strings; the number of a price is only its sort key (Binance prices have at most 8 decimals and
 * far fewer than 15 significant digits, so distinct prices get distinct, correctly ordered
 * doubles). Keys are sorted ascending with the best level last (bids by price, asks by minus the
 * price), so the frequent changes near the touch move little memory.
 */
class Side {
  private readonly keys: number[] = [];
  private readonly levels = new Map<number, PriceLevel>();

  constructor(
    private readonly sign: 1 | -1,
    private readonly maxLevels: number,
  ) {}

  get size(): number {
    return this.keys.length;
  }

  clear(): void {
    this.keys.length = 0;
    this.levels.clear();
  }

  /** Sets a level's absolute quantity; a zero quantity removes it (absent levels may be removed: normal). */
  set(price: Decimal, qty: Decimal): void {
    const key = this.sign * Number(price);
    if (isZero(qty)) {
      if (this.levels.delete(key)) this.keys.splice(this.indexOf(key), 1);
      return;
    }
    if (!this.levels.has(key)) {
      this.keys.splice(this.indexOf(key), 0, key);
      // Far-away levels beyond the bound are the least useful; the book stays bounded whatever comes in.
      if (this.keys.length > this.maxLevels) this.levels.delete(this.keys.shift() as number);
    }
    this.levels.set(key, [price, qty]);
  }

  best(): BestLevel | null {
    const key = this.keys[this.keys.length - 1];
    const level = key === undefined ? undefined : this.levels.get(key);
    return level === undefined ? null : { price: level[0], qty: level[1] };
  }

  /** The best `n` levels, best first. */
  top(n: number): PriceLevel[] {
    const out: PriceLevel[] = [];
    for (let i = this.keys.length - 1; i >= 0 && out.length < n; i--) {
      const level = this.levels.get(this.keys[i] as number);
      if (level !== undefined) out.push(level);
    }
    return out;
  }

  /** Lowest index whose key is ≥ key (binary search). */
  private indexOf(key: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.keys[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * A price-level (L2) order book: absolute quantities per price, as Binance's depth snapshot and
 * diff stream describe it ("The data in each event is the absolute quantity for a price level. If
 * the quantity is 0, remove the price level."). No sequencing here: LocalBook decides what may be
 * applied. At most `maxLevels` per side (the worst are dropped beyond it).
 */
export class OrderBook {
  private readonly bidSide: Side;
  private readonly askSide: Side;

  constructor(maxLevels = 10_000) {
    this.bidSide = new Side(1, maxLevels);
    this.askSide = new Side(-1, maxLevels);
  }

  /** Replaces the whole book with a snapshot's levels. */
  reset(bids: readonly PriceLevel[], asks: readonly PriceLevel[]): void {
    this.bidSide.clear();
    this.askSide.clear();
    this.apply(bids, asks);
  }

  apply(bids: readonly PriceLevel[], asks: readonly PriceLevel[]): void {
    for (const [p, q] of bids) this.bidSide.set(p, q);
    for (const [p, q] of asks) this.askSide.set(p, q);
  }

  bestBid(): BestLevel | null {
    return this.bidSide.best();
  }

  bestAsk(): BestLevel | null {
    return this.askSide.best();
  }

  /** The best `depth` levels of each side, best first. */
  top(depth: number): { bids: PriceLevel[]; asks: PriceLevel[] } {
    return { bids: this.bidSide.top(depth), asks: this.askSide.top(depth) };
  }

  levels(): { bids: number; asks: number } {
    return { bids: this.bidSide.size, asks: this.askSide.size };
  }
}
