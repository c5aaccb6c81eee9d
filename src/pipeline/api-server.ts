import type { FastifyInstance } from 'fastify';
import { listenError } from '../config/listen-error.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { RoleContext } from './context.js';

/**
 * Listens with the API and dashboard on api.host:api.port and closes them last on shutdown.
 * Returns `http://host:port` (the port the system chose when api.port is 0).
 * @throws TickflowError TF_CONFIG_INVALID naming api.port when the port is taken or not allowed.
 */
export async function serveApi(ctx: RoleContext, app: FastifyInstance): Promise<string> {
  const { host, port } = ctx.config.api;
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw listenError('the HTTP API and dashboard', 'api.port', { host, port }, err);
  }
  ctx.shutdown.onShutdown('close API server', () => app.close(), ShutdownOrder.closeServers);
  const address = app.server.address();
  const url = `http://${host}:${typeof address === 'object' && address !== null ? address.port : port}`;
  ctx.logger.info({ url }, 'dashboard and API listening');
  return url;
}
