import type { BoundedHistory } from './history.js';
import type { Instrument } from './instruments.js';
import type { KlineDecimals } from './klines.js';
import type { BookSnapshot, BookTop, SimAggTrade, SimTrade } from './market.js';

/** What the REST API reads: the generated or the replayed market. */
export interface MarketView {
  instruments(): readonly Instrument[];
  history(symbol: string): { trades: BoundedHistory<SimTrade>; aggTrades: BoundedHistory<SimAggTrade>; decimals: KlineDecimals } | undefined;
  depth(symbol: string, limit: number): BookSnapshot | undefined;
  top(symbol: string): BookTop | undefined;
}

/** A market the simulator runs: the seeded generator or a replay. */
export interface MarketEngine extends MarketView {
  start(): void;
  stop(): Promise<void>;
  /** Trade at `ratePerSec` per symbol for `durationMs` (the burst fault). */
  burst(ratePerSec: number, durationMs: number): void;
  /** Makes the next trade of `symbol` a taker whale worth at least `notional` (the whale fault). */
  whale(symbol: string, notional: number): void;
  /** Milliseconds the market was played slower than asked because the machine could not keep up. */
  slowedDownMs(): number;
}
