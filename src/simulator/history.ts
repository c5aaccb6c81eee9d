/**
 * The last N records of an id-contiguous sequence (trades, aggTrades), as Binance keeps them
 * for GET /api/v3/trades, /historicalTrades and /aggTrades. Gap healing reads from here.
 */
export class BoundedHistory<T extends { readonly id: number; readonly time: number }> {
  private items: T[] = [];
  private readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  push(item: T): void {
    this.items.push(item);
    // Trim in chunks so that pushes stay O(1) amortised.
    if (this.items.length > this.capacity * 1.1) this.items = this.items.slice(this.items.length - this.capacity);
  }

  get size(): number {
    return Math.min(this.items.length, this.capacity);
  }

  all(): readonly T[] {
    return this.items.length > this.capacity ? this.items.slice(this.items.length - this.capacity) : this.items;
  }

  latest(limit: number): T[] {
    return this.all().slice(-limit);
  }

  /** Up to `limit` records with id >= fromId (ids are contiguous, so this is an index lookup). */
  fromId(fromId: number, limit: number): T[] {
    const all = this.all();
    const first = all[0];
    if (first === undefined) return [];
    const start = Math.max(0, fromId - first.id);
    return all.slice(start, start + limit);
  }

  /** Up to `limit` records with startTime <= time <= endTime, oldest first. */
  between(startTime: number, endTime: number, limit: number): T[] {
    const all = this.all();
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((all[mid]?.time ?? Infinity) < startTime) lo = mid + 1;
      else hi = mid;
    }
    const out: T[] = [];
    for (let i = lo; i < all.length && out.length < limit; i++) {
      const item = all[i];
      if (item === undefined || item.time > endTime) break;
      out.push(item);
    }
    return out;
  }
}
