/** What the simulator actually delivered on one stream (union over all connections). */
export interface StreamEmitted {
  /** Distinct events delivered (ids for trade/aggTrade/depth, frames for the others). */
  count: number;
  /** Data frames delivered (a depth frame carries many ids): what a client counts as messages received. */
  frames: number;
  firstId: number | null;
  lastId: number | null;
  /**
   * Delivered id ranges, sorted and merged, for the id-contiguous streams: trade (`t`),
   * aggTrade (`a`) and depth (`U`..`u`). Empty for bookTicker and klines, whose ids skip.
   */
  ranges: [number, number][];
}

/** What the simulator delivered, by stream name (`btcusdt@trade`). */
export type EmittedReport = Record<string, StreamEmitted>;

function isContiguous(stream: string): boolean {
  return /@(trade|aggTrade|depth(@\d+ms)?)$/.test(stream);
}

/**
 * Tests compare what a client received with this report to prove that every gap a client sees is
 * one the simulator made (faults, reconnects) and that nothing was invented.
 */
export class EmittedTracker {
  private readonly streams = new Map<string, StreamEmitted>();
  /** Per stream, whether its ids are contiguous (decided once: record() runs for every frame). */
  private readonly contiguous = new Map<string, boolean>();

  record(stream: string, firstId: number, lastId: number = firstId): void {
    let s = this.streams.get(stream);
    if (s === undefined) {
      s = { count: 0, frames: 0, firstId: null, lastId: null, ranges: [] };
      this.streams.set(stream, s);
    }
    s.frames += 1;
    s.firstId = s.firstId === null ? firstId : Math.min(s.firstId, firstId);
    s.lastId = s.lastId === null ? lastId : Math.max(s.lastId, lastId);
    let contiguous = this.contiguous.get(stream);
    if (contiguous === undefined) {
      contiguous = isContiguous(stream);
      this.contiguous.set(stream, contiguous);
    }
    if (!contiguous) {
      s.count += 1;
      return;
    }
    s.count += addRange(s.ranges, firstId, lastId);
  }

  report(): EmittedReport {
    const out: EmittedReport = {};
    for (const [stream, s] of this.streams) out[stream] = { ...s, ranges: s.ranges.map((r) => [r[0], r[1]]) };
    return out;
  }
}

/** Merges [first, last] into sorted disjoint ranges; returns how many new ids it added. */
export function addRange(ranges: [number, number][], first: number, last: number): number {
  const tail = ranges[ranges.length - 1];
  if (tail === undefined || first > tail[1] + 1) {
    ranges.push([first, last]);
    return last - first + 1;
  }
  if (first >= tail[0] && first <= tail[1] + 1) {
    const added = Math.max(0, last - tail[1]);
    tail[1] = Math.max(tail[1], last);
    return added;
  }
  // Out of order (reorder fault, duplicates): general merge.
  const before = ranges.reduce((n, r) => n + r[1] - r[0] + 1, 0);
  ranges.push([first, last]);
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const m = merged[merged.length - 1];
    if (m !== undefined && r[0] <= m[1] + 1) m[1] = Math.max(m[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  ranges.splice(0, ranges.length, ...merged);
  return ranges.reduce((n, r) => n + r[1] - r[0] + 1, 0) - before;
}
