import { z } from 'zod';

/**
 * A URL of one of `schemes` (`'https:'`, with the colon, as `URL.protocol` spells it).
 * `z.string().url()` alone takes `ftp://x` or `file:///etc/passwd`, which pass start-up and fail
 * only at the first request (a heal, a backfill page, a sink's first batch).
 */
function schemeUrl(schemes: readonly string[]) {
  return z
    .string()
    .url()
    .refine((u) => schemes.includes(new URL(u).protocol), { message: `expected a ${schemes.map((s) => `${s}//`).join(' or ')} URL` });
}

/** An `http://` or `https://` URL: REST base URLs, AWS endpoints. */
export const httpUrl = schemeUrl(['http:', 'https:']);
/** A `ws://` or `wss://` URL: WebSocket base URLs. */
export const wsUrl = schemeUrl(['ws:', 'wss:']);
