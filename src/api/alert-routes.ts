import type { ActiveAlert } from '../alerts/engine.js';
import { alertHistory } from '../alerts/store.js';
import { formatDuration } from '../alerts/conditions.js';
import { route, type ApiRoute, type RouteContext } from './routes.js';

/** What the API reads of the alert engine. */
export interface AlertsView {
  active(): ActiveAlert[];
}

/** GET /api/alerts (firing, pending, history) and GET /api/alerts/rules. */
export function alertRoutes(ctx: RouteContext): ApiRoute[] {
  const { config, db, schemas } = ctx;
  return [
    route({
      path: '/api/alerts',
      summary: 'Alerts firing and pending now (from the running engine), and the history of transitions (firing, repeat, resolved), newest first',
      query: schemas.alerts,
      handler: async ({ rule, from, limit }) => {
        const active = ctx.alerts?.active() ?? [];
        return {
          engine: ctx.alerts !== undefined,
          firing: active.filter((a) => a.state === 'firing' && (rule === undefined || a.rule === rule)),
          pending: active.filter((a) => a.state === 'pending' && (rule === undefined || a.rule === rule)),
          history: await alertHistory(db, { rule, from, limit }),
        };
      },
    }),
    route({
      path: '/api/alerts/rules',
      summary: 'The configured alert rules (alerts.rules) with thresholds, durations in ms and a readable form, and the enabled notifiers',
      query: schemas.none,
      handler: async () => ({
        evaluateIntervalMs: config.alerts.evaluateIntervalMs,
        notifiers: { smtp: config.alerts.smtp.enabled, webhook: config.alerts.webhook.enabled },
        rules: config.alerts.rules.map((r) => ({ ...r, forText: formatDuration(r.for), repeatText: r.repeat > 0 ? formatDuration(r.repeat) : 'never' })),
      }),
    }),
  ];
}
