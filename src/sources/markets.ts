import type { Config } from '../config/schema.js';
import type { Instrument, Market } from '../core/events.js';
import { restBaseUrlFor, wsBaseUrlFor } from './binance/streams.js';

/** One market a run ingests, with everything defaulted: what one source instance needs. */
export interface MarketSource {
  readonly exchange: string;
  readonly market: Config['source']['market'];
  readonly symbols: readonly string[];
  readonly wsBaseUrl: string;
  readonly restBaseUrl: string;
}

/**
 * The markets `source` configures, in order: `source.markets`, or `[source.market]` when empty.
 * The one home of the "which instruments does this deployment ingest" rule (sources, simulator
 * and API all read it).
 */
export function marketSources(source: Config['source']): MarketSource[] {
  const entries = source.markets.length > 0 ? source.markets : [{ market: source.market }];
  return entries.map((e) => ({
    exchange: 'binance',
    market: e.market,
    symbols: 'symbols' in e && e.symbols ? e.symbols : source.symbols,
    wsBaseUrl: ('wsBaseUrl' in e ? e.wsBaseUrl : undefined) ?? wsBaseUrlFor(e.market, source.wsBaseUrl),
    restBaseUrl: ('restBaseUrl' in e ? e.restBaseUrl : undefined) ?? restBaseUrlFor(e.market, source.restBaseUrl),
  }));
}

/** Every configured (exchange, market, symbol). */
export function configuredInstruments(source: Config['source']): Instrument[] {
  return marketSources(source).flatMap((m) => m.symbols.map((symbol) => ({ exchange: m.exchange, market: m.market, symbol })));
}

/** The first configured market: what the API answers for when a request names none. */
export function defaultMarket(source: Config['source']): { readonly exchange: string; readonly market: Market } {
  const [first] = marketSources(source);
  return { exchange: first?.exchange ?? 'binance', market: first?.market ?? source.market };
}
