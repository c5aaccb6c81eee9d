import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Paths anyone may read even with a token set: the document describing the API, and the probes. */
const PUBLIC = new Set(['/api/openapi.json']);

/**
 * A check for `Authorization: Bearer <token>` on /api/*. EventSource cannot send headers, so the
 * stream also accepts `?access_token=`. Compared as SHA-256 digests in constant time, so neither
 * the content nor the length of the token leaks through timing.
 */
export function tokenCheck(token: string): (req: FastifyRequest) => boolean {
  const expected = digest(token);
  return (req) => {
    const path = req.url.split('?', 1)[0] ?? '';
    if (!path.startsWith('/api/') || PUBLIC.has(path)) return true;
    const header = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const query = path === '/api/stream' ? (req.query as Record<string, unknown>).access_token : undefined;
    const presented = header ?? (typeof query === 'string' ? query : undefined);
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
