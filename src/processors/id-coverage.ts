/**
 * The trade ids seen for one symbol, as sorted disjoint inclusive ranges. Binance trade ids are
 * contiguous per symbol (an aggTrade covers the contiguous range `f`..`l`), so a window's trades are
 * all known exactly when the ids from the one before its first to the one after its last are all
 * covered: reordering (aggTrades of the same millisecond out of id order, a frame that arrives late)
 * only delays that answer, it never turns into a loss.
 */
export class IdCoverage {
  /** Ascending by first id; neighbours never touch (they are merged). */
  private ranges: [number, number][] = [];

  /** @param maxRanges bound on the ranges kept (random ids cannot grow memory); the oldest go first. */
  constructor(private readonly maxRanges = 4_096) {}

  /** Marks ids `first`..`last` (inclusive) as seen. */
  add(first: number, last: number): void {
    const ranges = this.ranges;
    const top = ranges.at(-1);
    if (top === undefined || first > top[1] + 1) {
      ranges.push([first, last]);
      this.trim();
      return;
    }
    if (first >= top[0] && first <= top[1] + 1) {
      // The common case: the next ids in order.
      if (last > top[1]) top[1] = last;
      return;
    }
    // Out of order: merge every range that touches [first, last].
    const lo = lowerBound(ranges, first - 1);
    let hi = lo;
    let from = first;
    let to = last;
    while (hi < ranges.length && (ranges[hi] as [number, number])[0] <= last + 1) {
      const r = ranges[hi] as [number, number];
      from = Math.min(from, r[0]);
      to = Math.max(to, r[1]);
      hi += 1;
    }
    ranges.splice(lo, hi - lo, [from, to]);
    this.trim();
  }

  /** True when every id from `first` to `last` (inclusive) has been seen. */
  covers(first: number, last: number): boolean {
    const i = lowerBound(this.ranges, first);
    const r = this.ranges[i];
    return r !== undefined && r[0] <= first && r[1] >= last;
  }

  /** Forgets ranges that end below `id` (they belong to windows no longer kept). */
  forgetBelow(id: number): void {
    const i = lowerBound(this.ranges, id);
    if (i > 0) this.ranges.splice(0, i);
  }

  /** Number of disjoint ranges (1 when nothing is missing). */
  get size(): number {
    return this.ranges.length;
  }

  private trim(): void {
    if (this.ranges.length > this.maxRanges) this.ranges.splice(0, this.ranges.length - this.maxRanges);
  }
}

/** Index of the first range whose last id is ≥ `id`. */
function lowerBound(ranges: readonly [number, number][], id: number): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranges[mid] as [number, number])[1] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
