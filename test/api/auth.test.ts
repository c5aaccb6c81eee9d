import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { insertTrades, openTestDatabase, testApp } from './helpers.js';

const TOKEN = 's3cret';

interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * One GET with the request target sent exactly as written: fetch() and inject() parse the URL
 * first and would resolve `..` or re-encode escapes before the server sees them.
 */
function get(port: number, target: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, headers }, (res) => {
      const status = res.statusCode ?? 0;
      // The stream never ends by itself: its status and first bytes are the answer.
      if (/event-stream/.test(String(res.headers['content-type']))) {
        res.once('data', (chunk: Buffer) => {
          resolve({ status, body: chunk.toString() });
          req.destroy();
        });
        return;
      }
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Every spelling of a protected path: the router decodes escapes, so the answer without the token
 * must be 401 whenever the spelling reaches a protected handler (200 with the token), and a 404
 * that reveals nothing when it reaches none.
 */
const SPELLINGS: readonly { target: string; routed: boolean; why: string }[] = [
  { target: '/api/pipeline', routed: true, why: 'plain' },
  { target: '/%61pi/pipeline', routed: true, why: 'percent-encoded letter in the first segment' },
  { target: '/%61%70%69/pipeline', routed: true, why: 'whole segment percent-encoded' },
  { target: '/api/%70ipeline', routed: true, why: 'percent-encoded letter in the last segment' },
  { target: '/%41pi/pipeline', routed: false, why: 'percent-encoded capital: a different path' },
  { target: '/%61pi/trades?symbol=BTCUSDT', routed: true, why: 'encoded path with a query' },
  { target: '/%61pi/stream?symbols=BTCUSDT', routed: true, why: 'the live stream, encoded' },
  { target: '/api%2Fpipeline', routed: false, why: 'encoded slash' },
  { target: '//api/pipeline', routed: false, why: 'leading double slash' },
  { target: '/api//pipeline', routed: false, why: 'inner double slash' },
  { target: '/API/pipeline', routed: false, why: 'upper case' },
  { target: '/Api/Pipeline', routed: false, why: 'mixed case' },
  { target: '/x/../api/pipeline', routed: false, why: 'dot-dot segment' },
  { target: '/api/./pipeline', routed: false, why: 'dot segment' },
  { target: '/%2e%2e/api/pipeline', routed: false, why: 'encoded dot-dot segment' },
  { target: '/api/x/%2e%2e/pipeline', routed: false, why: 'encoded dot-dot inside /api' },
  { target: '/api/pipeline/', routed: false, why: 'trailing slash' },
  { target: '/api/pipeline;a=b', routed: false, why: 'semicolon parameter' },
  { target: '/api/pipeline%00', routed: false, why: 'encoded NUL' },
  { target: '/api/pipeline%23x', routed: false, why: 'encoded #' },
];

test('with api.token set, auth is decided on the routed path: every spelling of a protected path is refused without the token', async (t) => {
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.10', quantity: '0.5', time: Date.parse('2024-08-09T00:00:00Z') }]);
  const { app } = testApp(t, db, { config: { api: { token: TOKEN } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const bearer = { authorization: `Bearer ${TOKEN}` };

  for (const { target, routed, why } of SPELLINGS) {
    const anonymous = await get(port, target);
    const withToken = await get(port, target, bearer);
    const label = `${target} (${why}): without token ${anonymous.status}, with token ${withToken.status}`;
    // Refused or not found, the body is an error and nothing else.
    const refusal = JSON.parse(anonymous.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(refusal).sort(), ['code', 'message'], `${label}: ${anonymous.body.slice(0, 200)}`);
    if (routed) {
      assert.equal(withToken.status, 200, label);
      assert.equal(anonymous.status, 401, label);
      assert.equal(JSON.parse(anonymous.body).code, 'TF_API_UNAUTHORIZED', label);
    } else {
      assert.ok(anonymous.status === 404 || anonymous.status === 400, label);
      assert.ok(withToken.status === 404 || withToken.status === 400, `${label}: not a route, so the token must not matter`);
    }
  }
});

test('with api.token set, the access_token query opens the stream only, under any spelling of its path', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db, { config: { api: { token: TOKEN } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  const cases: readonly [target: string, status: number][] = [
    [`/api/stream?symbols=BTCUSDT&access_token=${TOKEN}`, 200],
    [`/%61pi/stream?symbols=BTCUSDT&access_token=${TOKEN}`, 200],
    [`/api/stream?symbols=BTCUSDT&%61ccess_token=${TOKEN}`, 200],
    [`/api/stream?symbols=BTCUSDT&access_token=s3%63ret`, 200],
    ['/api/stream?symbols=BTCUSDT&access_token=wrong', 401],
    ['/api/stream?symbols=BTCUSDT&access_token=', 401],
    [`/api/stream?symbols=BTCUSDT&access_token=${TOKEN}&access_token=x`, 401],
    [`/api/symbols?access_token=${TOKEN}`, 401],
    [`/%61pi/symbols?access_token=${TOKEN}`, 401],
    [`/api/pipeline?access_token=${TOKEN}`, 401],
    [`/%61pi/pipeline?%61ccess_token=${TOKEN}`, 401],
  ];
  for (const [target, status] of cases) {
    const res = await get(port, target);
    assert.equal(res.status, status, `${target}: ${res.body.slice(0, 200)}`);
    if (status === 200) assert.match(res.body, /event: hello/, target);
  }
});

test('with api.token set, the bearer scheme is case-insensitive; public routes stay open under any spelling', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db, { config: { api: { token: TOKEN } } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;

  assert.equal((await get(port, '/api/symbols', { authorization: `bearer ${TOKEN}` })).status, 200);
  assert.equal((await get(port, '/api/symbols', { authorization: `BEARER  ${TOKEN}` })).status, 200);
  assert.equal((await get(port, '/api/symbols', { authorization: `Basic ${TOKEN}` })).status, 401);
  assert.equal((await get(port, '/api/symbols', { authorization: `Bearer ${TOKEN.toUpperCase()}` })).status, 401);
  for (const target of ['/api/openapi.json', '/%61pi/openapi.json', '/live', '/%6Cive', '/ready', '/metrics']) {
    assert.equal((await get(port, target)).status, 200, target);
  }
  // inject() agrees with the socket on the spellings it can express.
  assert.equal((await app.inject('/%61pi/pipeline')).statusCode, 401);
  assert.equal((await app.inject({ url: '/%61pi/pipeline', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
});
