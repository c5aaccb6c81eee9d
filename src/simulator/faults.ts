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
/** The streams skipIds can leave holes in: trade, aggTrade and the diff-depth streams. */
export type SkippableStream = (typeof SKIPPABLE_STREAMS)[number];

const DEFAULT_SHUTDOWN_GRACE_MS = 5_000;

/**
 * `symbol` upper-cased, or FaultRequestError when the market does not trade it: a fault aimed at a
 * mistyped symbol would answer 200 and do nothing (skipIds waited for a stream that never comes).
 */
function traded(market: MarketEngine, fault: FaultName, symbol: string): string {
  const upper = symbol.toUpperCase();
  if (!market.instruments().some((i) => i.symbol === upper)) throw new FaultRequestError(`${fault}: the simulator does not trade ${symbol}`);
  return upper;
}

/**
 * The Faults of one running simulator: frame faults act on `hub` (every connection), market faults on
 * `market`; the shutdown notice's close timer is kept in `timers` so that stopping the simulator
 * clears it. `skipIds` and `whale` throw FaultRequestError for a symbol the market does not trade.
 */
export function createFaults(hub: Hub, market: MarketEngine, timers: Set<NodeJS.Timeout>): Faults {
  return {
    dropConnections: () => hub.dropAll(),
    stall: (ms) => hub.stall(ms),
    malformed: (n) => hub.malformed(n),
    duplicate: (n) => hub.duplicate(n),
    reorder: (n) => hub.reorder(n),
    skipIds: (symbol, stream, n) => hub.skip(`${traded(market, 'skipIds', symbol).toLowerCase()}@${stream}`, n),
    burst: (ratePerSec, durationMs) => market.burst(ratePerSec, durationMs),
    whale: (symbol, notional) => market.whale(traded(market, 'whale', symbol), notional),
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

/** One parameter of a fault: its JSON key, a CLI-style value name, its default and what it does. */
export interface FaultParam {
  readonly key: string;
  readonly value: string;
  /** The default when absent; `first symbol` means the first symbol the simulator trades. */
  readonly default: string;
  readonly description: string;
}

/** The default of every fault parameter (a symbol's is the first symbol traded). */
const DEFAULTS = {
  n: 1,
  ms: 5_000,
  stream: 'trade',
  ratePerSec: 1_000,
  durationMs: 5_000,
  notional: 250_000,
  closeAfterMs: DEFAULT_SHUTDOWN_GRACE_MS,
} as const;

const n = (what: string): FaultParam => ({ key: 'n', value: 'count', default: String(DEFAULTS.n), description: what });
const symbolParam: FaultParam = { key: 'symbol', value: 'symbol', default: 'first symbol', description: 'the symbol, e.g. BTCUSDT' };

/**
 * Every fault with its parameters and their defaults (DEFAULTS, shared with the HTTP body schemas
 * below): what `tickflow simulate fault` offers as flags and prints in its help. An empty body
 * (`{}`) takes every default.
 */
export const FAULT_SPECS = {
  dropConnections: { summary: 'cut every WebSocket connection without a close frame', params: [] },
  stall: {
    summary: 'send no data frames for a while (pings go on); the events of that time are lost',
    params: [{ key: 'ms', value: 'ms', default: String(DEFAULTS.ms), description: 'how long, ms' }],
  },
  malformed: { summary: 'replace the next data frames by truncated, unparsable JSON', params: [n('frames to break')] },
  duplicate: { summary: 'send each of the next data frames twice', params: [n('frames to send twice')] },
  reorder: { summary: 'hold the next data frames and send them in reverse order', params: [n('frames to reverse (2 or more to change anything)')] },
  skipIds: {
    summary: 'leave out the next events of one stream (REST history keeps them): a gap',
    params: [
      symbolParam,
      { key: 'stream', value: 'stream', default: DEFAULTS.stream, description: 'trade, aggTrade, depth, depth@100ms or depth@1000ms' },
      n('events to leave out'),
    ],
  },
  burst: {
    summary: 'make every symbol trade fast for a while',
    params: [
      { key: 'ratePerSec', value: 'n', default: String(DEFAULTS.ratePerSec), description: 'trades per second per symbol' },
      { key: 'durationMs', value: 'ms', default: String(DEFAULTS.durationMs), description: 'how long, ms' },
    ],
  },
  whale: {
    summary: 'make the next trade of a symbol a taker trade worth at least a notional',
    params: [symbolParam, { key: 'notional', value: 'quote', default: String(DEFAULTS.notional), description: 'least notional in the quote asset' }],
  },
  shutdownNotice: {
    summary: 'send the serverShutdown event to every connection, then close them',
    params: [{ key: 'closeAfterMs', value: 'ms', default: String(DEFAULTS.closeAfterMs), description: 'ms until the connections close' }],
  },
} as const satisfies Record<string, { summary: string; params: readonly FaultParam[] }>;

/**
 * Upper bounds of the parameters. A duration past setTimeout's 2^31−1 ms would fire at once (a
 * "stall" of a year would be no stall), a count or notional beyond them is a typo, not a drill: a
 * notional of 1e30 makes a quantity no Binance symbol could print.
 */
export const FAULT_LIMITS = { n: 1_000_000, ms: 86_400_000, ratePerSec: 1_000_000, notional: 1e12 } as const;
const count = z.number().int().positive().max(FAULT_LIMITS.n).default(DEFAULTS.n);
const duration = (fallback: number, least = 1) => z.number().int().min(least).max(FAULT_LIMITS.ms).default(fallback);
const FAULT_BODIES = {
  dropConnections: z.strictObject({}),
  stall: z.strictObject({ ms: duration(DEFAULTS.ms) }),
  malformed: z.strictObject({ n: count }),
  duplicate: z.strictObject({ n: count }),
  reorder: z.strictObject({ n: count }),
  skipIds: z.strictObject({ symbol: z.string().min(1).optional(), stream: z.enum(SKIPPABLE_STREAMS).default(DEFAULTS.stream), n: count }),
  burst: z.strictObject({
    ratePerSec: z.number().positive().max(FAULT_LIMITS.ratePerSec).default(DEFAULTS.ratePerSec),
    durationMs: duration(DEFAULTS.durationMs),
  }),
  whale: z.strictObject({ symbol: z.string().min(1).optional(), notional: z.number().positive().max(FAULT_LIMITS.notional).default(DEFAULTS.notional) }),
  shutdownNotice: z.strictObject({ closeAfterMs: duration(DEFAULTS.closeAfterMs, 0) }),
} as const satisfies Record<keyof typeof FAULT_SPECS, z.ZodType>;

/** A fault the control API accepts (POST /sim/faults/<name>). */
export type FaultName = keyof typeof FAULT_BODIES;
/** Every fault name, for messages and the CLI. */
export const FAULT_NAMES = Object.keys(FAULT_BODIES) as FaultName[];

/**
 * A fault request the simulator refuses (unknown fault, bad body, a symbol it does not trade): answered
 * 400 on POST /sim/faults/<name>, where any other error is a 500; the CLI reports it as
 * TF_SIMULATOR_REFUSED.
 */
export class FaultRequestError extends Error {}

/**
 * Applies a fault named in a URL with its JSON body (absent parameters take FAULT_SPECS' defaults;
 * a symbol defaults to `firstSymbol`); throws FaultRequestError on bad input.
 */
export function applyFault(faults: Faults, name: string, body: unknown, firstSymbol = ''): unknown {
  // Own keys only: `in` also finds Object.prototype's (constructor, toString), which answered 500.
  if (!Object.hasOwn(FAULT_BODIES, name)) throw new FaultRequestError(`unknown fault "${name}"; expected one of ${FAULT_NAMES.join(', ')}`);
  const parsed = FAULT_BODIES[name as FaultName].safeParse(body ?? {});
  if (!parsed.success)
    throw new FaultRequestError(`bad body for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}`);
  const b = parsed.data as {
    ms: number;
    n: number;
    symbol?: string;
    stream: 'trade' | 'aggTrade';
    ratePerSec: number;
    durationMs: number;
    notional: number;
    closeAfterMs?: number;
  };
  const symbol = b.symbol ?? firstSymbol;
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
      return faults.skipIds(symbol, b.stream, b.n);
    case 'burst':
      return faults.burst(b.ratePerSec, b.durationMs);
    case 'whale':
      return faults.whale(symbol, b.notional);
    case 'shutdownNotice':
      return faults.shutdownNotice(b.closeAfterMs);
  }
}
