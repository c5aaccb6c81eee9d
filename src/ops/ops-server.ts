import Fastify from 'fastify';
import type { Config } from '../config/schema.js';
import { listenError } from '../config/listen-error.js';
import type { HealthRegistry } from './health.js';
import { healthRoutes } from './health-routes.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** The processes tickflow can run as (`tickflow <role>`). */
export type Role = 'run' | 'ingest' | 'store' | 'process' | 'serve';

/**
 * Where a role serves /live, /ready, /health and /metrics when `ops.healthPort` is `auto`: roles
 * with the API (run, serve) on the API port; the others each on their own port, so all of them can
 * share one host.
 */
export function defaultHealthPort(role: Role): number | 'api' {
  switch (role) {
    case 'run':
    case 'serve':
      return 'api';
    case 'ingest':
      return 9464;
    case 'store':
      return 9465;
    case 'process':
      return 9466;
  }
}

/**
 * Resolves where this role's probes live: on the API server when the role runs one, otherwise on
 * an ops server at `ops.healthHost`:`ops.healthPort` (`auto` → defaultHealthPort).
 */
export function healthEndpointFor(
  role: Role,
  config: { readonly api: Pick<Config['api'], 'enabled'>; readonly ops: Pick<Config['ops'], 'healthPort' | 'healthHost'> },
): { readonly onApi: true } | { readonly onApi: false; readonly host: string; readonly port: number } {
  const fallback = defaultHealthPort(role);
  if (fallback === 'api' && config.api.enabled) return { onApi: true };
  const port = config.ops.healthPort === 'auto' ? (fallback === 'api' ? 9464 : fallback) : config.ops.healthPort;
  return { onApi: false, host: config.ops.healthHost, port };
}

/** Where the ops server listens (ops.healthPort) and what it serves. */
export interface OpsServerOptions {
  readonly host: string;
  /** 0 picks a free port; the chosen one is returned. */
  readonly port: number;
  readonly health: HealthRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** A listening ops server: its port and its close(). */
export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A small HTTP server with only the health routes, for roles without the API. */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const log = options.logger.child({ component: 'ops-server' });
  const app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(healthRoutes({ health: options.health, metrics: options.metrics }));
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await app.close();
    throw listenError('the health and metrics server', 'ops.healthPort', options, err);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  log.info({ url: `http://${options.host}:${port}` }, 'serving /live, /ready, /health and /metrics');
  return {
    port,
    async close() {
      await app.close();
    },
  };
}
