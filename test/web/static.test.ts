import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerDashboard } from '../../src/web/static.js';
import { buildDashboard } from './browser.js';

test('the dashboard is served pre-compressed to browsers that accept it, and "/" always answers', async (t) => {
  const root = await buildDashboard(t);
  const app = Fastify();
  t.after(() => app.close());
  registerDashboard(app, root);
  const page = await app.inject({ url: '/', headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<!doctype html>/i);
  const plain = await app.inject({ url: '/main.js' });
  const br = await app.inject({ url: '/main.js', headers: { 'accept-encoding': 'br' } });
  const gz = await app.inject({ url: '/main.js', headers: { 'accept-encoding': 'gzip' } });
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(br.rawPayload.length * 3 < plain.rawPayload.length, `${br.rawPayload.length} vs ${plain.rawPayload.length} bytes`);
  assert.equal((await app.inject({ url: '/nope.js' })).statusCode, 404);
});
