import { DEPTH_SEQUENCE } from '../../book/sequence.js';
import type { DepthEvent, GapEvent, Market } from '../../core/events.js';

/**
 * The update ids of bookTicker (`u`) and diff-depth (`U`..`u`, USD-M `pu`) streams: duplicates
 * dropped per symbol, and diff-depth sequence breaks found. Unlike trade ids these are not
 * contiguous per stream, so a duplicate is an id seen recently, not a filled hole.
 */

/** Ids remembered per (symbol, stream): covers a rotation overlap at Binance's fastest bookTicker rates. */
const RECENT_IDS = 4096;

class IdRing {
  private readonly ids = new Float64Array(RECENT_IDS);
  private next = 0;
  private size = 0;
  private high = Number.NEGATIVE_INFINITY;

  /** Records `id`; false when it is one of the last RECENT_IDS ids recorded (a duplicate). */
  add(id: number): boolean {
    // Ids mostly increase: only an id at or below the highest needs the (newest-first) scan.
    if (id <= this.high && this.contains(id)) return false;
    if (id > this.high) this.high = id;
    this.ids[this.next] = id;
    this.next = (this.next + 1) % RECENT_IDS;
    if (this.size < RECENT_IDS) this.size++;
    return true;
  }

  private contains(id: number): boolean {
    for (let k = 1; k <= this.size; k++) {
      if (this.ids[(this.next - k + RECENT_IDS) % RECENT_IDS] === id) return true;
    }
    return false;
  }
}

/**
 * Drops a bookTicker or depth update whose id was already delivered for its symbol — a frame sent
 * twice, or the same update on both connections of a rotation — as trade ids are de-duplicated by
 * the gap detector. Memory is bounded: RECENT_IDS ids per (symbol, stream).
 */
export class RecentUpdateIds {
  private readonly rings = new Map<string, IdRing>();

  /** `id`: bookTicker `u`, depth final `u`. False for a duplicate. */
  accept(symbol: string, stream: 'bookTicker' | 'depth', id: number): boolean {
    const key = `${stream}|${symbol}`;
    let ring = this.rings.get(key);
    if (ring === undefined) {
      ring = new IdRing();
      this.rings.set(key, ring);
    }
    return ring.add(id);
  }
}

/** The update ids lost between two diff-depth events, or null when they connect. */
export interface DepthBreak {
  readonly firstMissingId: number;
  readonly lastMissingId: number;
}

/**
 * The update ids lost between two diff-depth events, when the second does not follow the first by
 * Binance's continuity rule (`DEPTH_SEQUENCE.follows`, src/book/sequence.ts, the rule's one home:
 * spot `U` = previous `u` + 1, USD-M `pu` = previous `u`): from the previous `u` + 1 to spot
 * `U` − 1, USD-M `pu`. An event that starts inside what was already seen (an overlap) breaks the
 * chain but loses no update: null.
 */
export function depthBreak(market: Market, prevFinalUpdateId: number, event: DepthEvent): DepthBreak | null {
  if (DEPTH_SEQUENCE[market].follows(event, prevFinalUpdateId)) return null;
  const last = market === 'usdm' && event.prevFinalUpdateId !== undefined ? event.prevFinalUpdateId : event.firstUpdateId - 1;
  return last > prevFinalUpdateId ? { firstMissingId: prevFinalUpdateId + 1, lastMissingId: last } : null;
}

/** Follows each symbol's diff-depth stream and turns a sequence break into a `depth` gap. */
export class DepthSequences {
  private readonly last = new Map<string, number>();

  constructor(private readonly market: Market) {}

  /** `now`: epoch ms of detection; `reason`: as for trade gaps (reconnect, rotation, sequence). */
  observe(event: DepthEvent, now: number, reason: GapEvent['reason']): GapEvent | null {
    const prev = this.last.get(event.symbol);
    // A stale event (reordered across connections) neither breaks nor moves the sequence.
    if (prev !== undefined && event.finalUpdateId <= prev) return null;
    this.last.set(event.symbol, event.finalUpdateId);
    if (prev === undefined) return null;
    const gap = depthBreak(this.market, prev, event);
    if (gap === null) return null;
    return { type: 'gap', exchange: 'binance', market: this.market, symbol: event.symbol, stream: 'depth', ...gap, detectedAt: now, reason };
  }
}
