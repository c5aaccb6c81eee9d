import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { openTestDatabase, testApp } from './helpers.js';

const EXPECTED = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function assertSecurityHeaders(headers: Record<string, unknown>, what: string): void {
  for (const [name, value] of Object.entries(EXPECTED)) assert.equal(headers[name], value, `${what}: ${name}`);
  const csp = String(headers['content-security-policy'] ?? '');
  for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "connect-src 'self'"]) {
    assert.ok(
      csp
        .split(';')
        .map((d) => d.trim())
        .includes(directive),
      `${what}: CSP has ${directive}: ${csp}`,
    );
  }
  assert.doesNotMatch(csp, /unsafe-eval|upgrade-insecure-requests/, `${what}: ${csp}`);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/, `${what}: inline scripts stay refused`);
  assert.equal(headers['strict-transport-security'], undefined, `${what}: no HSTS over plain HTTP`);
}

test('every kind of response carries the security headers: dashboard, API, errors, probes', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db, { config: { api: { token: 's3cret' } }, webRoot: '/nonexistent/tickflow-web' });
  const auth = { authorization: 'Bearer s3cret' };
  const cases: [string, Record<string, string>, number][] = [
    ['/', {}, 503],
    ['/api/symbols', auth, 200],
    ['/api/symbols', {}, 401],
    ['/api/candles?symbol=BTCUSDT&to=253402300800000', auth, 400],
    ['/api/nope', auth, 404],
    ['/api/openapi.json', {}, 200],
    ['/live', {}, 200],
    ['/metrics', {}, 200],
  ];
  for (const [url, headers, status] of cases) {
    const res = await app.inject({ url, headers });
    assert.equal(res.statusCode, status, url);
    assertSecurityHeaders(res.headers, url);
  }
});

test('the live stream, which writes its own head, carries the security headers too', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/stream?symbols=BTCUSDT' }, (res) => {
      resolve(res.headers);
      req.destroy();
    });
    req.on('error', reject);
    req.end();
  });
  assert.match(String(headers['content-type']), /text\/event-stream/);
  assertSecurityHeaders(headers, '/api/stream');
});
