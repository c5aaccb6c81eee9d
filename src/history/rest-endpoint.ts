import type { Config } from '../config/schema.js';
import type { Market } from '../core/events.js';
import type { Metrics } from '../ops/metrics.js';
import { BinanceRestClient, type RestClientOptions } from '../sources/binance/rest.js';

/** Where one market's REST API is: Binance, the simulator, or a proxy. */
export interface RestEndpoint {
  readonly market: Market;
  readonly restBaseUrl: string;
  /** REQUEST_WEIGHT per minute of that endpoint (the simulator's); unset: the market's published limit. */
  readonly weightLimitPerMinute?: number;
}

/**
 * A REST client for `endpoint` whose background requests (gap healing, backfill) are held to
 * `heal.weightShare` of the safe weight budget, so live requests (book snapshots) keep the rest;
 * every response is counted in tickflow_rest_responses_total and tickflow_rest_weight_used.
 */
export function createRestClient(
  endpoint: RestEndpoint,
  heal: Config['heal'],
  metrics: Metrics,
  signal?: AbortSignal,
  onRetry?: RestClientOptions['onRetry'],
): BinanceRestClient {
  const { market } = endpoint;
  return new BinanceRestClient({
    baseUrl: endpoint.restBaseUrl,
    market,
    backgroundShare: heal.weightShare,
    ...(endpoint.weightLimitPerMinute !== undefined ? { weightLimitPerMinute: endpoint.weightLimitPerMinute } : {}),
    ...(signal ? { signal } : {}),
    ...(onRetry ? { onRetry } : {}),
    onResponse: (_path, status, used) => {
      metrics.restResponses.inc({ market, status: String(status) });
      if (used !== undefined) metrics.restWeightUsed.set({ market }, used);
    },
  });
}
