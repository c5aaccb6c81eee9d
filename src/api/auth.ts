import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/** Routes under /api/ that anyone may read even with a token set: the document describing the API. */
const PUBLIC = new Set(['/api/openapi.json']);
/** EventSource cannot send headers, so this route alone also takes `?access_token=`. */
const QUERY_TOKEN_ROUTE = '/api/stream';

/**
 * A check for `Authorization: Bearer <token>` on every route registered under /api/ (except
 * PUBLIC); the probes and the dashboard's static files stay open.
 *
 * The decision is made on the route the router matched (its registered pattern), never on the
 * request's URL text: the router decodes percent-escapes, so a check of the raw URL let
 * `/%61pi/pipeline` reach /api/pipeline without the token. Whatever spelling of a path reaches a
 * protected handler (escapes, `..`, `//`), the handler's pattern is the same, so the check is too;
 * a spelling that matches no route is a 404 from the not-found handler, which reveals nothing.
 *
 * Tokens are compared as SHA-256 digests in constant time, so neither the content nor the length
 * of the token leaks through timing.
 */
export function tokenCheck(token: string): (req: FastifyRequest) => boolean {
  const expected = digest(token);
  return (req) => {
    const route = req.routeOptions.url;
    if (route === undefined || !route.startsWith('/api/') || PUBLIC.has(route)) return true;
    const header = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const query = route === QUERY_TOKEN_ROUTE ? (req.query as Record<string, unknown> | undefined)?.access_token : undefined;
    const presented = header ?? (typeof query === 'string' ? query : undefined);
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
