import { ShutdownOrder } from '../ops/shutdown.js';
import { createRestClient, type RestEndpoint } from '../history/rest-endpoint.js';
import type { BinanceRestClient } from '../sources/binance/rest.js';
import type { RoleContext } from './context.js';

const clients = new WeakMap<RoleContext, Map<string, BinanceRestClient>>();

/**
 * The process's one Binance REST client per (market, base URL): everything that calls REST in a
 * role (book snapshots, gap healing) shares its weight budget, so together they stay below the
 * exchange's limit. Requests end when the role shuts down (stopReading).
 */
export function restClientFor(ctx: RoleContext, market: RestEndpoint): BinanceRestClient {
  let byUrl = clients.get(ctx);
  if (byUrl === undefined) {
    byUrl = new Map();
    clients.set(ctx, byUrl);
  }
  const key = `${market.market} ${market.restBaseUrl}`;
  let client = byUrl.get(key);
  if (client === undefined) {
    const abort = new AbortController();
    ctx.shutdown.onShutdown(`stop REST requests (${market.market})`, () => abort.abort(), ShutdownOrder.stopReading);
    client = createRestClient(market, ctx.config.heal, ctx.metrics, abort.signal);
    byUrl.set(key, client);
  }
  return client;
}
