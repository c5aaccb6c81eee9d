import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of everything the server sends, the dashboard first. Every asset is
 * served from this origin (the bundle includes lightweight-charts) and the page talks only to
 * this API, so `'self'` is all it needs:
 * - scripts: the bundle only, no inline script, no eval;
 * - styles: `'unsafe-inline'` because lightweight-charts inserts a `<style>` element for its
 *   attribution logo (styles cannot run code; scripts stay strict);
 * - images: `data:` for the page's empty favicon (`<link rel="icon" href="data:,">`);
 * - nothing may frame the page (clickjacking), post forms, change the base URL or load plugins.
 */
export const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
} as const;

/**
 * Security headers on every response (API, stream, dashboard, probes) from @fastify/helmet: the
 * CSP above, `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` for browsers without
 * frame-ancestors, `Referrer-Policy: no-referrer` (a `?token=` URL never leaks to another site),
 * and helmet's cross-origin isolation defaults.
 *
 * Left out on purpose: `upgrade-insecure-requests` and HSTS. tickflow serves plain HTTP (loopback by
 * default; TLS belongs to a proxy in front), and upgrading would break a dashboard opened as
 * http://<lan-address>:8080.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  void app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...CONTENT_SECURITY_POLICY } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}
