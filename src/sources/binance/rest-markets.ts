import type { Market } from '../../core/events.js';

/**
 * The REST rules that differ between Binance spot (`/api/v3`, "Market Data endpoints") and USD-M
 * futures (`/fapi/v1`, "USDⓈ-M Futures › Market Data"): path prefix, the IP weight limit, page
 * sizes and request weights of the endpoints tickflow calls. One home for these; the client and
 * everything that pages through history read them from here.
 */
export interface RestMarketRules {
  readonly prefix: '/api/v3' | '/fapi/v1';
  /** REQUEST_WEIGHT per minute per IP. */
  readonly weightLimitPerMinute: number;
  /** Largest page of `historicalTrades` (spot 1000, USD-M 500). */
  readonly historicalTradesPage: number;
  readonly aggTradesPage: number;
  readonly klinesPage: number;
  /** Depth snapshot size a local book starts from. */
  readonly snapshotDepth: number;
  /**
   * The `limit` values GET depth accepts: USD-M only its list ("Order Book": 5, 10, 20, 50, 100, 500,
   * 1000; another is error -4021 "Invalid depth limit."), spot any of 1..5000 (null).
   */
  readonly depthLimits: readonly number[] | null;
  depthWeight(limit: number): number;
  readonly aggTradesWeight: number;
  readonly historicalTradesWeight: number;
  klinesWeight(limit: number): number;
  /** GET exchangeInfo of every symbol. */
  readonly exchangeInfoWeight: number;
}

/**
 * Spot (`/api/v3`, "General API Information", "Market Data endpoints") and USD-M (`/fapi/v1`) REST
 * rules: path prefix, REQUEST_WEIGHT limit per minute, page sizes and endpoint weights, as Binance
 * publishes them.
 */
export const REST_MARKETS: Readonly<Record<Market, RestMarketRules>> = {
  spot: {
    prefix: '/api/v3',
    weightLimitPerMinute: 6_000,
    historicalTradesPage: 1_000,
    aggTradesPage: 1_000,
    klinesPage: 1_000,
    snapshotDepth: 5_000,
    depthLimits: null,
    depthWeight: (limit) => (limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1_000 ? 50 : 250),
    aggTradesWeight: 4,
    historicalTradesWeight: 25,
    klinesWeight: () => 2,
    exchangeInfoWeight: 20,
  },
  usdm: {
    prefix: '/fapi/v1',
    weightLimitPerMinute: 2_400,
    historicalTradesPage: 500,
    aggTradesPage: 1_000,
    // 1000 rather than the 1500 maximum: weight 5 instead of 10 for two thirds of the rows.
    klinesPage: 1_000,
    snapshotDepth: 1_000,
    depthLimits: [5, 10, 20, 50, 100, 500, 1_000],
    depthWeight: (limit) => (limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20),
    aggTradesWeight: 20,
    historicalTradesWeight: 20,
    klinesWeight: (limit) => (limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1_000 ? 5 : 10),
    exchangeInfoWeight: 1,
  },
};
