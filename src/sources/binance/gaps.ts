import type { GapEvent, Market } from '../../core/events.js';

/**
 * Gap detection for the id sequences Binance promises are contiguous per symbol: trade `t` and
 * aggTrade `a`. An id above the highest seen opens a hole; a hole is reported only after it stayed
 * open for `graceMs`, because ids do arrive out of order (two connections overlapping during a
 * rotation, a reordered frame) and a late id fills its hole instead of raising a false gap. An id at
 * or below the highest seen that fills no hole is a duplicate and is dropped.
 */

export type GapStream = GapEvent['stream'];
/** Why a hole opened: `reconnect`, `rotation`, `sequence` or `restart` (core/events.ts GapEvent). */
export type GapReason = GapEvent['reason'];
/** What observe says of an id: a new one (or one filling a hole), or one seen before. */
export type Verdict = 'accept' | 'duplicate';

interface Hole {
  first: number;
  last: number;
  readonly detectedAt: number;
  readonly reason: GapReason;
  reported: boolean;
}

interface Sequence {
  readonly symbol: string;
  readonly stream: GapStream;
  high: number;
  /** `high` is the last id stored by an earlier process: the first hole above it is a `restart` gap. */
  resumed: boolean;
  /** Sorted by `first`; new holes are always above every existing one. */
  holes: Hole[];
}

/** The market gaps are reported for, the reordering grace (ms), and how many reported holes stay fillable. */
export interface GapDetectorOptions {
  readonly market: Market;
  /** How long a hole may stay open before it is reported (reordering tolerance). */
  readonly graceMs: number;
  /**
   * Reported holes kept per sequence so that an id arriving after its gap was reported is still
   * accepted (data is never thrown away), not mistaken for a duplicate.
   */
  readonly keepReportedHoles?: number;
}

/** The highest id of a (symbol, stream) stored before this process started (GapDetector.resume). */
export interface StoredSequence {
  readonly symbol: string;
  readonly stream: GapStream;
  readonly lastId: number;
}

/**
 * Finds holes in the trade (`t`) and aggTrade (`a`) id sequences per (symbol, stream), which Binance
 * numbers contiguously (see above). `observe` says `accept` or `duplicate` for each id; `due(now)`
 * returns the GapEvents (exchange `binance`, the market of `options`, first and last missing id,
 * `detectedAt` epoch ms, reason `reconnect`, `rotation`, `sequence` or `restart`) of holes open for
 * `options.graceMs`, each once. Memory is bounded: at most `keepReportedHoles` (default 256) reported
 * holes per sequence are kept. Throws nothing.
 */
export class GapDetector {
  /** By symbol, one map per stream rather than a composite key: observe() builds no string per id. */
  private readonly trades = new Map<string, Sequence>();
  private readonly aggTrades = new Map<string, Sequence>();
  /** Every sequence in the order it was first seen (the order due() reports in). */
  private readonly sequences: Sequence[] = [];
  private readonly keepReported: number;

  constructor(private readonly options: GapDetectorOptions) {
    this.keepReported = options.keepReportedHoles ?? 256;
  }

  /**
   * Continues (symbol, stream) from the last id stored before this process started, so that the ids
   * between it and the first one received are a gap (reason `restart`) — after kill -9, SIGTERM or a
   * crash, including rows the old process had received but not yet written. Ids at or below it are
   * duplicates of stored rows.
   */
  resume(stored: StoredSequence): void {
    if (this.of(stored.stream).has(stored.symbol)) return;
    this.add({ symbol: stored.symbol, stream: stored.stream, high: stored.lastId, resumed: true, holes: [] });
  }

  /**
   * Records `id` for (symbol, stream). `reason` labels a hole this id opens: `reconnect` or
   * `rotation` for the first id on a new connection, otherwise `sequence`. `now` is epoch ms.
   */
  observe(symbol: string, stream: GapStream, id: number, now: number, reason: GapReason): Verdict {
    const seq = this.of(stream).get(symbol);
    if (seq === undefined) {
      this.add({ symbol, stream, high: id, resumed: false, holes: [] });
      return 'accept';
    }
    if (id === seq.high + 1) {
      seq.high = id;
      seq.resumed = false;
      return 'accept';
    }
    if (id > seq.high) {
      seq.holes.push({ first: seq.high + 1, last: id - 1, detectedAt: now, reason: seq.resumed ? 'restart' : reason, reported: false });
      seq.high = id;
      seq.resumed = false;
      return 'accept';
    }
    return fillHole(seq.holes, id) ? 'accept' : 'duplicate';
  }

  /** Holes open for at least `graceMs` at `now` (epoch ms), each reported once. */
  due(now: number): GapEvent[] {
    const gaps: GapEvent[] = [];
    for (const seq of this.sequences) {
      if (seq.holes.length === 0) continue;
      let reported = 0;
      for (const hole of seq.holes) {
        if (hole.reported) {
          reported++;
          continue;
        }
        if (now - hole.detectedAt < this.options.graceMs) continue;
        hole.reported = true;
        reported++;
        gaps.push({
          type: 'gap',
          exchange: 'binance',
          market: this.options.market,
          symbol: seq.symbol,
          stream: seq.stream,
          firstMissingId: hole.first,
          lastMissingId: hole.last,
          detectedAt: hole.detectedAt,
          reason: hole.reason,
        });
      }
      if (reported > this.keepReported) forgetOldestReported(seq, reported - this.keepReported);
    }
    return gaps;
  }

  /** The sequences of `stream` by symbol (the detector sees trade and aggTrade ids only). */
  private of(stream: GapStream): Map<string, Sequence> {
    return stream === 'trade' ? this.trades : this.aggTrades;
  }

  private add(seq: Sequence): void {
    this.of(seq.stream).set(seq.symbol, seq);
    this.sequences.push(seq);
  }

  /** Holes not yet reported, for status and tests. */
  openHoles(): number {
    let n = 0;
    for (const seq of this.sequences) for (const h of seq.holes) if (!h.reported) n++;
    return n;
  }
}

/** Removes `id` from the hole containing it; false when no hole contains it (a duplicate). */
function fillHole(holes: Hole[], id: number): boolean {
  // Late ids are usually recent: search from the top.
  for (let i = holes.length - 1; i >= 0; i--) {
    const hole = holes[i]!;
    if (id > hole.last) return false;
    if (id < hole.first) continue;
    if (hole.first === hole.last) holes.splice(i, 1);
    else if (id === hole.first) hole.first++;
    else if (id === hole.last) hole.last--;
    else {
      holes.splice(i + 1, 0, { ...hole, first: id + 1 });
      hole.last = id - 1;
    }
    return true;
  }
  return false;
}

function forgetOldestReported(seq: Sequence, count: number): void {
  let left = count;
  seq.holes = seq.holes.filter((h) => !(h.reported && left-- > 0));
}
