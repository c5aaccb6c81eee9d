import type { DepthEvent, Market } from '../core/events.js';

/**
 * Binance's rules for keeping a local book in step with the diff stream, which differ by market.
 * The one home of these rules: whatever checks depth sequencing imports them.
 *
 * Spot ("How to manage a local order book correctly", spot WebSocket Streams): drop every event
 * with `u` ≤ the snapshot's `lastUpdateId`; the first event applied must straddle
 * `lastUpdateId + 1` (`U` ≤ lastUpdateId + 1 ≤ `u`); after it each event's `U` must be the
 * previous `u` + 1.
 *
 * USD-M ("How to manage a local order book correctly", USDⓈ-M Futures WebSocket Market Streams):
 * drop every event with `u` < `lastUpdateId`; the first event applied must have
 * `U` ≤ lastUpdateId ≤ `u`; after it each event's `pu` must equal the previous `u`.
 */
export interface DepthSequenceRule {
  /** Entirely covered by the snapshot: drop it. */
  stale(event: DepthEvent, lastUpdateId: number): boolean;
  /** The first event after the snapshot lines up with it. */
  fitsSnapshot(event: DepthEvent, lastUpdateId: number): boolean;
  /** The event follows the one whose final update id was `previousFinal`. */
  follows(event: DepthEvent, previousFinal: number): boolean;
}

/** The rule of each Binance market, as described above. */
export const DEPTH_SEQUENCE: Readonly<Record<Market, DepthSequenceRule>> = {
  spot: {
    stale: (e, id) => e.finalUpdateId <= id,
    fitsSnapshot: (e, id) => e.firstUpdateId <= id + 1 && e.finalUpdateId >= id + 1,
    follows: (e, prev) => e.firstUpdateId === prev + 1,
  },
  usdm: {
    stale: (e, id) => e.finalUpdateId < id,
    fitsSnapshot: (e, id) => e.firstUpdateId <= id && e.finalUpdateId >= id,
    follows: (e, prev) => e.prevFinalUpdateId === prev,
  },
};
