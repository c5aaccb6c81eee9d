import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import type { HealthRegistry } from '../ops/health.js';
import { healthRoutes } from '../ops/health-routes.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database } from '../store/database.js';
import { defaultWebRoot, registerDashboard } from '../web/static.js';
import { tokenCheck } from './auth.js';
import type { LiveBookLookup } from './book.js';
import { ApiError } from './errors.js';
import type { LiveFeed, LiveSubscription } from './live.js';
import { openApiDocument } from './openapi.js';
import type { PipelineStatus } from './pipeline.js';
import type { AlertsView } from './alert-routes.js';
import { apiRoutes } from './routes.js';
import { buildSchemas } from './schemas.js';
import { registerSecurityHeaders } from './security-headers.js';
import { VERSION } from '../core/version.js';

/**
 * What buildApp serves from: config, database, live feed, pipeline status, health, metrics, logger; optionally the alert engine, the live books and the dashboard's directory.
 */
export interface AppDeps {
  readonly config: Config;
  readonly db: Database;
  readonly live: LiveFeed;
  /** The alert engine's pending and firing alerts; absent where no engine runs (alerts.enabled false). */
  readonly alerts?: AlertsView | undefined;
  readonly pipeline: () => PipelineStatus | Promise<PipelineStatus>;
  readonly health: HealthRegistry;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The process's live order books (`tickflow run`); without it GET /api/book reads book_snapshots. */
  readonly book?: LiveBookLookup;
  /** The built dashboard (default: dist/web/public, see src/web/static.ts). */
  readonly webRoot?: string;
}

/**
 * The HTTP API, the live stream, the dashboard and the probes, built without listening: the caller
 * listens on config.api.host/port, tests use inject().
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const logger = deps.logger.child({ component: 'api' });
  // No per-request log lines: the dashboard polls, and errors are logged by the error handler.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  registerSecurityHeaders(app);

  if (deps.config.api.token !== undefined) {
    const allowed = tokenCheck(deps.config.api.token);
    // onRequest: refused before the query is validated or any handler or plugin runs.
    app.addHook('onRequest', async (req) => {
      if (!allowed(req)) throw new ApiError('TF_API_UNAUTHORIZED', 'send Authorization: Bearer <api.token> (or ?access_token= on /api/stream)');
    });
  }

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const api = toApiError(err);
    if (api.status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    if (api.code === 'TF_API_UNAUTHORIZED') reply.header('www-authenticate', 'Bearer');
    return reply.code(api.status).send(api.body());
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(new ApiError('TF_API_NOT_FOUND', `no route ${req.method} ${req.url.split('?', 1)[0]}`).body()));

  const streams = new Set<LiveSubscription>();
  // Open streams would otherwise hold app.close() until every browser goes away.
  app.addHook('preClose', async () => {
    for (const sub of streams) sub.close();
  });

  const routes = apiRoutes({
    config: deps.config,
    db: deps.db,
    live: deps.live,
    alerts: deps.alerts,
    pipeline: deps.pipeline,
    health: deps.health,
    schemas: buildSchemas(deps.config.processor.candleIntervals, deps.config.book.depth),
    ...(deps.book ? { book: deps.book } : {}),
    instance: { id: randomUUID(), startedAt: Date.now() },
    streams,
  });
  for (const r of routes) {
    app.get(r.path, async (req, reply) => {
      // Every parameter is one string; a repeated one (`?symbol=A&symbol=B`) arrives as an array,
      // which the schema would call "required" — say what is wrong instead.
      const repeated = Object.entries((req.query ?? {}) as Record<string, unknown>).filter(([, v]) => Array.isArray(v));
      if (repeated.length > 0) throw new ApiError('TF_API_BAD_PARAM', repeated.map(([k]) => `${k}: given more than once; give it once`).join('; '));
      const parsed = r.query.safeParse(req.query ?? {});
      if (!parsed.success) throw badParams(parsed.error.issues);
      return r.handler(parsed.data, req, reply);
    });
  }
  const openapi = openApiDocument(routes, { version: VERSION, tokenRequired: deps.config.api.token !== undefined });
  app.get('/api/openapi.json', async () => openapi);

  void app.register(healthRoutes({ health: deps.health, metrics: deps.metrics }));
  registerDashboard(app, deps.webRoot ?? defaultWebRoot());
  return app;
}

function badParams(issues: readonly { path: readonly PropertyKey[]; message: string; code: string; keys?: readonly string[] }[]): ApiError {
  const parts = issues.map((issue) => {
    // An unknown parameter is reported on the object, with the offending names in `keys`.
    if (issue.code === 'unrecognized_keys') return `unknown parameter ${issue.keys?.join(', ')}`;
    const name = issue.path.map(String).join('.') || 'query';
    return `${name}: ${issue.message}`;
  });
  return new ApiError('TF_API_BAD_PARAM', parts.join('; '));
}

function toApiError(err: FastifyError | Error): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof TickflowError && err.code === ErrorCodes.STORE_UNAVAILABLE) {
    return new ApiError('TF_API_STORE_UNAVAILABLE', 'the database is not answering; retry shortly', { cause: err });
  }
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ApiError('TF_API_BAD_PARAM', err.message, { cause: err });
  return new ApiError('TF_API_INTERNAL', 'internal error', { cause: err });
}
