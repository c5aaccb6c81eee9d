import type { DepthEvent, Market } from '../core/events.js';
import type { DepthSnapshot } from '../sources/binance/rest-parse.js';
import { OrderBook } from './order-book.js';
import { DEPTH_SEQUENCE, type DepthSequenceRule } from './sequence.js';

/**
 * Where the diff stream stopped lining up with the book: the book was discarded and needs a new
 * snapshot. `afterUpdateId` is the last update id the book had (the snapshot's lastUpdateId when
 * the first event did not fit it); `firstUpdateId`/`finalUpdateId`/`prevFinalUpdateId` are those
 * of the event that did not follow.
 */
export interface SequenceBreak {
  readonly market: Market;
  readonly symbol: string;
  readonly kind: 'sequence' | 'snapshot';
  readonly afterUpdateId: number;
  readonly firstUpdateId: number;
  readonly finalUpdateId: number;
  readonly prevFinalUpdateId?: number;
  /** Exchange event time of that event, epoch ms. */
  readonly eventTime: number;
}

/**
 * What applying one diff did: `buffered` (no snapshot yet), `stale` (covered by the snapshot,
 * dropped), `applied`, or a SequenceBreak (the book was discarded).
 */
export type DiffOutcome = 'buffered' | 'stale' | 'applied' | SequenceBreak;
/** `live`: the book is in step; `too_old`: the snapshot predates the buffered events, fetch another. */
export type SnapshotOutcome = 'live' | 'too_old' | SequenceBreak;

/** One local book: its market (which sequence rule applies) and symbol, and its bounds. */
export interface LocalBookOptions {
  readonly market: Market;
  readonly symbol: string;
  /** Diffs kept while waiting for a snapshot; the oldest go first (a later snapshot covers them). */
  readonly maxBuffered?: number;
  /** Levels per side (OrderBook). */
  readonly maxLevels?: number;
}

/**
 * A local order book kept in step with Binance's diff stream after the market's rules
 * (sequence.ts): diffs are buffered until a REST snapshot arrives, stale ones are dropped, the
 * first one must line up with the snapshot and every later one must follow the previous. Any break
 * discards the book (its outcome says so) and buffering starts again from the breaking event until
 * the caller brings a new snapshot. Pure: no I/O, no clock.
 */
export class LocalBook {
  readonly book: OrderBook;
  readonly market: Market;
  readonly symbol: string;
  private readonly rule: DepthSequenceRule;
  private readonly maxBuffered: number;
  private buffer: DepthEvent[] = [];
  /** The snapshot's lastUpdateId while no event has been applied on it yet. */
  private snapshotId: number | null = null;
  /** The final update id of the last applied event; null while not live. */
  private lastFinal: number | null = null;

  constructor(options: LocalBookOptions) {
    this.market = options.market;
    this.symbol = options.symbol;
    this.rule = DEPTH_SEQUENCE[options.market];
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.book = new OrderBook(options.maxLevels);
  }

  /** True while the book waits for a snapshot (at start and after a break). */
  needsSnapshot(): boolean {
    return this.snapshotId === null && this.lastFinal === null;
  }

  /** The update id the book reflects (the last applied `u`, or the snapshot's), null when not live. */
  updateId(): number | null {
    return this.lastFinal ?? this.snapshotId;
  }

  onDiff(event: DepthEvent): DiffOutcome {
    if (this.needsSnapshot()) {
      this.buffer.push(event);
      if (this.buffer.length > this.maxBuffered) this.buffer.shift();
      return 'buffered';
    }
    if (this.lastFinal === null) {
      const id = this.snapshotId as number;
      if (this.rule.stale(event, id)) return 'stale';
      if (!this.rule.fitsSnapshot(event, id)) return this.discard(event, 'snapshot', id);
      this.snapshotId = null;
    } else if (!this.rule.follows(event, this.lastFinal)) {
      // A repeated or older event is no break: Binance says to ignore it.
      if (event.finalUpdateId <= this.lastFinal) return 'stale';
      return this.discard(event, 'sequence', this.lastFinal);
    }
    this.book.apply(event.bids, event.asks);
    this.lastFinal = event.finalUpdateId;
    return 'applied';
  }

  /** Starts the book from a REST depth snapshot and applies the buffered diffs that follow it. */
  onSnapshot(snapshot: DepthSnapshot): SnapshotOutcome {
    const buffered = this.buffer;
    // "If the snapshot's lastUpdateId is < the first buffered event's U, fetch again" (spot step 3):
    // the stream started after the snapshot, so nothing bridges them.
    const first = buffered[0];
    if (first !== undefined && !this.rule.stale(first, snapshot.lastUpdateId) && !this.rule.fitsSnapshot(first, snapshot.lastUpdateId)) return 'too_old';
    this.buffer = [];
    this.book.reset(snapshot.bids, snapshot.asks);
    this.snapshotId = snapshot.lastUpdateId;
    this.lastFinal = null;
    for (let i = 0; i < buffered.length; i++) {
      const outcome = this.onDiff(buffered[i] as DepthEvent);
      if (typeof outcome === 'object') {
        // discard() buffered the breaking event; keep the ones after it too.
        this.buffer.push(...buffered.slice(i + 1));
        return outcome;
      }
    }
    return 'live';
  }

  private discard(event: DepthEvent, kind: SequenceBreak['kind'], afterUpdateId: number): SequenceBreak {
    this.snapshotId = null;
    this.lastFinal = null;
    this.buffer = [event];
    const brk: { -readonly [K in keyof SequenceBreak]: SequenceBreak[K] } = {
      market: this.market,
      symbol: this.symbol,
      kind,
      afterUpdateId,
      firstUpdateId: event.firstUpdateId,
      finalUpdateId: event.finalUpdateId,
      eventTime: event.eventTime,
    };
    if (event.prevFinalUpdateId !== undefined) brk.prevFinalUpdateId = event.prevFinalUpdateId;
    return brk;
  }
}
