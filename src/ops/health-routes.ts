import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { HealthRegistry } from './health.js';
import type { Metrics } from './metrics.js';
import { exportHealth } from './process-metrics.js';

/** What the probe routes read: the health registry and the Prometheus registry. */
export interface HealthRoutesDeps {
  readonly health: HealthRegistry;
  readonly metrics: Metrics;
}

/**
 * Probes and metrics, shared by the API server and the ops server of roles without an API:
 * `/live` (the event loop answers), `/ready` (every component can do its job), `/health` (the
 * state of every component, for people) and `/metrics` (Prometheus text format). None of them
 * needs the API token: orchestrator probes and Prometheus scrape without credentials.
 */
export function healthRoutes(deps: HealthRoutesDeps): FastifyPluginAsync {
  const { health, metrics } = deps;
  exportHealth(metrics, health);
  const started = Date.now();

  return async (app) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('cache-control', 'no-store');
    });

    // Answering at all is the signal: a blocked event loop cannot, and the orchestrator restarts us.
    app.get('/live', async (_req, reply) => {
      sendJson(reply, 200, { status: 'live', uptimeSeconds: Math.round((Date.now() - started) / 1000) });
    });

    app.get('/ready', async (req, reply) => {
      const { ready, reasons } = await health.evaluate();
      const status = ready ? 200 : 503;
      if (wantsJson(req)) {
        sendJson(reply, status, { ready, reasons });
        return;
      }
      const text = ready ? 'ready\n' : `not ready\n${reasons.map((r) => `- ${r}\n`).join('')}`;
      reply.code(status).type('text/plain; charset=utf-8').send(text);
    });

    app.get('/health', async (_req, reply) => {
      const { ready, shuttingDown, reasons, components } = await health.evaluate();
      sendJson(reply, ready ? 200 : 503, {
        status: shuttingDown ? 'shutting_down' : ready ? 'ready' : 'not_ready',
        ready,
        reasons,
        uptimeSeconds: Math.round((Date.now() - started) / 1000),
        components,
      });
    });

    app.get('/metrics', async (_req, reply) => {
      const body = await metrics.registry.metrics();
      reply.code(200).type(metrics.registry.contentType).send(body);
    });
  };
}

/** `/ready` answers in text for people with curl and in JSON for programs that ask for it. */
function wantsJson(req: FastifyRequest): boolean {
  const query = req.query as Record<string, unknown> | undefined;
  return query?.format === 'json' || /\bapplication\/json\b/.test(req.headers.accept ?? '');
}

/** Component details may hold bigint offsets, which JSON.stringify refuses. */
function sendJson(reply: FastifyReply, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  reply.code(status).type('application/json; charset=utf-8').send(text);
}
