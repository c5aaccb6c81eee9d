import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Where scripts/build-web.mjs put the dashboard: beside this module once compiled
 * (dist/web/public), or under dist/ of the repository when running from source (tsx).
 */
export function defaultWebRoot(): string {
  const candidates = [join(here, 'public'), resolve(here, '..', '..', 'dist', 'web', 'public')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? (candidates[1] as string);
}

/**
 * Serves the dashboard at `/`. Every asset is local (the bundle includes lightweight-charts), so
 * the page makes no request outside this server. Without a build it says how to make one.
 */
export function registerDashboard(app: FastifyInstance, root: string): void {
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send(`dashboard not built: run \`npm run build\` (looked in ${root})\n`),
    );
    return;
  }
  void app.register(fastifyStatic, {
    root,
    prefix: '/',
    // "/" is its own route: with preCompressed, @fastify/static answers 404 for a directory index
    // requested with Accept-Encoding (every browser sends it).
    index: false,
    // Asset names are not content-hashed, so browsers must revalidate after an upgrade.
    cacheControl: true,
    maxAge: 0,
    // build-web.mjs writes .br and .gz beside each asset.
    preCompressed: true,
  });
  app.get('/', (_req, reply) => reply.sendFile('index.html'));
}
