import type { PipelineEvent } from '../core/events.js';
import { type Healer, startHealer } from '../history/healer.js';
import type { RestEndpoint } from '../history/rest-endpoint.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { marketSources } from '../sources/markets.js';
import type { Database } from '../store/database.js';
import { deps, type RoleContext } from './context.js';
import { restClientFor } from './rest-clients.js';

/**
 * Starts gap healing when `heal.enabled`, with the process's REST client of each market in
 * `endpoints`; healed rows go to `publish` (the bus, and the sinks where the process has them). It
 * stops with the source (nothing is published once the bus starts draining).
 * Undefined when healing is off.
 */
export function startHealing(
  ctx: RoleContext,
  db: Database,
  publish: (events: readonly PipelineEvent[]) => Promise<void>,
  endpoints: readonly RestEndpoint[],
): Healer | undefined {
  if (!ctx.config.heal.enabled) return undefined;
  const clients = new Map(endpoints.map((r) => [r.market, restClientFor(ctx, r)] as const));
  const healer = startHealer({ ...deps(ctx), db, publish, clients });
  ctx.shutdown.onShutdown('stop gap healing', () => healer.close(), ShutdownOrder.stopReading);
  return healer;
}

/**
 * The REST endpoints a role without the source heals from (`tickflow store`): the configured
 * markets' for `binance`, heal.replayRestBaseUrl for a replay; none for `sim`, whose simulator
 * lives in the ingest process.
 */
export function configuredRestEndpoints(ctx: RoleContext): RestEndpoint[] {
  const { source, heal } = ctx.config;
  if (source.kind === 'binance') return marketSources(source).map((m) => ({ market: m.market, restBaseUrl: m.restBaseUrl }));
  const replay = heal.replayRestBaseUrl;
  return source.kind.startsWith('replay:') && replay !== undefined ? [{ market: marketSources(source)[0]?.market ?? source.market, restBaseUrl: replay }] : [];
}
