import { z } from 'zod';
import type { Hub } from './hub.js';
import type { MarketEngine } from './types.js';

/** Fault injection, from tests (the `faults` object) or over HTTP (POST /sim/faults/<name>). */
export interface Faults {
  /** Cuts every WebSocket connection without a close frame; returns how many were cut. */
  dropConnections(): number;
  /** Sends no data frames for `ms` (pings continue); the events of that time are lost. */
  stall(ms: number): void;
  /** Replaces the next `n` data frames by truncated, unparsable JSON (not counted as emitted). */
  malformed(n: number): void;
  /** Sends each of the next `n` data frames twice. */
  duplicate(n: number): void;
  /** Holds the next `n` data frames and sends them in reverse order. */
  reorder(n: number): void;
  /**
   * Does not send the next `n` events of `<symbol>@<stream>` (REST history still has them); for a
   * diff-depth stream that is a break in its update-id sequence.
   */
  skipIds(symbol: string, stream: SkippableStream, n: number): void;
  /** Every symbol trades at `ratePerSec` for `durationMs`. */
  burst(ratePerSec: number, durationMs: number): void;
  /** The next trade of `symbol` is a taker trade worth at least `notional` in the quote asset. */
  whale(symbol: string, notional: number): void;
  /** Sends the serverShutdown event to every connection, then closes them after `closeAfterMs`. */
  shutdownNotice(closeAfterMs?: number): void;
}

const SKIPPABLE_STREAMS = ['trade', 'aggTrade', 'depth', 'depth@100ms', 'depth@1000ms'] as const;
export type SkippableStream = (typeof SKIPPABLE_STREAMS)[number];

const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

export function createFaults(hub: Hub, market: MarketEngine, timers: Set<NodeJS.Timeout>): Faults {
  return {
    dropConnections: () => hub.dropAll(),
    stall: (ms) => hub.stall(ms),
    malformed: (n) => hub.malformed(n),
    duplicate: (n) => hub.duplicate(n),
    reorder: (n) => hub.reorder(n),
    skipIds: (symbol, stream, n) => hub.skip(`${symbol.toLowerCase()}@${stream}`, n),
    burst: (ratePerSec, durationMs) => market.burst(ratePerSec, durationMs),
    whale: (symbol, notional) => {
      const upper = symbol.toUpperCase();
      if (!market.instruments().some((i) => i.symbol === upper)) throw new FaultRequestError(`whale: the simulator does not trade ${symbol}`);
      market.whale(upper, notional);
    },
    shutdownNotice: (closeAfterMs = DEFAULT_SHUTDOWN_GRACE_MS) => {
      // Same shape as the WebSocket API's connection event (developers.binance.com, "Connection events").
      hub.broadcast(JSON.stringify({ event: { e: 'serverShutdown', E: Date.now() } }));
      const timer = setTimeout(() => {
        timers.delete(timer);
        hub.closeAll(1001, 'server shutdown');
      }, closeAfterMs);
      timers.add(timer);
    },
  };
}

const count = z.strictObject({ n: z.number().int().positive() });
const FAULT_BODIES = {
  dropConnections: z.strictObject({}),
  stall: z.strictObject({ ms: z.number().int().positive() }),
  malformed: count,
  duplicate: count,
  reorder: count,
  skipIds: z.strictObject({ symbol: z.string().min(1), stream: z.enum(SKIPPABLE_STREAMS), n: z.number().int().positive() }),
  burst: z.strictObject({ ratePerSec: z.number().positive(), durationMs: z.number().int().positive() }),
  whale: z.strictObject({ symbol: z.string().min(1), notional: z.number().positive() }),
  shutdownNotice: z.strictObject({ closeAfterMs: z.number().int().nonnegative().optional() }),
} as const;

export type FaultName = keyof typeof FAULT_BODIES;
export const FAULT_NAMES = Object.keys(FAULT_BODIES) as FaultName[];

export class FaultRequestError extends Error {}

/** Applies a fault named in a URL with its JSON body; throws FaultRequestError on bad input. */
export function applyFault(faults: Faults, name: string, body: unknown): unknown {
  if (!(name in FAULT_BODIES)) throw new FaultRequestError(`unknown fault "${name}"; expected one of ${FAULT_NAMES.join(', ')}`);
  const parsed = FAULT_BODIES[name as FaultName].safeParse(body ?? {});
  if (!parsed.success) throw new FaultRequestError(`bad body for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  const b = parsed.data as {
    ms: number;
    n: number;
    symbol: string;
    stream: 'trade' | 'aggTrade';
    ratePerSec: number;
    durationMs: number;
    notional: number;
    closeAfterMs?: number;
  };
  switch (name as FaultName) {
    case 'dropConnections':
      return { dropped: faults.dropConnections() };
    case 'stall':
      return faults.stall(b.ms);
    case 'malformed':
      return faults.malformed(b.n);
    case 'duplicate':
      return faults.duplicate(b.n);
    case 'reorder':
      return faults.reorder(b.n);
    case 'skipIds':
      return faults.skipIds(b.symbol, b.stream, b.n);
    case 'burst':
      return faults.burst(b.ratePerSec, b.durationMs);
    case 'whale':
      return faults.whale(b.symbol, b.notional);
    case 'shutdownNotice':
      return faults.shutdownNotice(b.closeAfterMs);
  }
}
