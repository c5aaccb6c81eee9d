import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { HealthRegistry } from '../../src/ops/health.js';
import { healthRoutes } from '../../src/ops/health-routes.js';
import { createMetrics } from '../../src/ops/metrics.js';

async function buildApp(t: import('node:test').TestContext, health = new HealthRegistry()) {
  const metrics = createMetrics();
  const app = Fastify();
  await app.register(healthRoutes({ health, metrics }));
  t.after(() => app.close());
  return { app, health, metrics };
}

test('/live answers 200 even when components are down', async (t) => {
  const health = new HealthRegistry();
  health.register('bus', () => ({ state: 'down', reason: 'broker unreachable' }));
  const { app } = await buildApp(t, health);
  const res = await app.inject('/live');
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().status, 'live');
});

test('/ready is 200 when every component is up or degraded', async (t) => {
  const health = new HealthRegistry();
  health.register('source', () => ({ state: 'up' }));
  health.register('store', () => ({ state: 'degraded', reason: 'write latency high' }));
  const { app } = await buildApp(t, health);
  const text = await app.inject('/ready');
  assert.equal(text.statusCode, 200);
  assert.match(text.headers['content-type'] as string, /^text\/plain/);
  assert.equal(text.body, 'ready\n');
  const json = await app.inject({ url: '/ready', headers: { accept: 'application/json' } });
  assert.deepEqual(json.json(), { ready: true, reasons: [] });
});

test('/ready is 503 with the reasons, in text and in JSON', async (t) => {
  const health = new HealthRegistry();
  health.register('source', () => ({ state: 'up' }));
  health.register('bus', () => ({ state: 'down', reason: 'broker 127.0.0.1:9092 unreachable' }));
  health.register('store', async () => {
    throw new Error('connection refused');
  });
  const { app } = await buildApp(t, health);
  const text = await app.inject('/ready');
  assert.equal(text.statusCode, 503);
  assert.match(text.body, /^not ready\n/);
  assert.match(text.body, /- bus: broker 127\.0\.0\.1:9092 unreachable\n/);
  assert.match(text.body, /- store: health check failed: connection refused\n/);
  const json = await app.inject('/ready?format=json');
  assert.equal(json.statusCode, 503);
  assert.equal(json.json().ready, false);
  assert.equal(json.json().reasons.length, 2);
});

test('/ready turns 503 once shutdown starts', async (t) => {
  const { app, health } = await buildApp(t);
  assert.equal((await app.inject('/ready')).statusCode, 200);
  health.markShuttingDown();
  const res = await app.inject('/ready');
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /process is shutting down/);
  assert.equal((await app.inject('/health')).json().status, 'shutting_down');
});

test('/health reports every component with its details, bigint offsets included', async (t) => {
  const health = new HealthRegistry();
  const lastMessage = '2026-01-01T00:00:00.000Z';
  health.register('source', () => ({
    state: 'up',
    details: { reconnects: 2, lastMessageAt: { 'btcusdt@trade': lastMessage } },
  }));
  health.register('consumer', () => ({ state: 'degraded', reason: 'lag 5000 records', details: { lag: 5000, committed: 12n } }));
  const { app } = await buildApp(t, health);
  const res = await app.inject('/health');
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.status, 'ready');
  assert.equal(body.components.source.details.reconnects, 2);
  assert.equal(body.components.source.details.lastMessageAt['btcusdt@trade'], lastMessage);
  assert.equal(body.components.consumer.state, 'degraded');
  assert.equal(body.components.consumer.details.committed, '12');
  assert.equal(typeof body.uptimeSeconds, 'number');

  health.register('store', () => ({ state: 'down', reason: 'database closed' }));
  const down = await app.inject('/health');
  assert.equal(down.statusCode, 503);
  assert.equal(down.json().status, 'not_ready');
  assert.deepEqual(down.json().reasons, ['store: database closed']);
});

test('a hung health check counts as down instead of hanging the probe', async (t) => {
  const health = new HealthRegistry();
  health.register('db', () => new Promise(() => {}));
  const { ready, reasons } = await health.evaluate(50);
  assert.equal(ready, false);
  assert.deepEqual(reasons, ['db: health check did not answer within 50 ms']);
  t.diagnostic('the routes use the same evaluate(), with a 2 s default');
});

test('/metrics serves the Prometheus text format with tickflow series', async (t) => {
  const health = new HealthRegistry();
  health.register('source', () => ({ state: 'up' }));
  health.register('bus', () => ({ state: 'down', reason: 'no broker' }));
  const { app, metrics } = await buildApp(t, health);
  metrics.messagesReceived.inc({ symbol: 'BTCUSDT', stream: 'trade' }, 3);
  const res = await app.inject('/metrics');
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.match(res.body, /^tickflow_messages_received_total\{symbol="BTCUSDT",stream="trade"\} 3$/m);
  // prom-client's process metrics under our prefix: CPU and memory for dashboards and alerts.
  assert.match(res.body, /^tickflow_process_cpu_seconds_total \d/m);
  assert.match(res.body, /^tickflow_process_resident_memory_bytes \d/m);
  assert.match(res.body, /^tickflow_nodejs_eventloop_lag_seconds \d/m);
  // /ready mirrored into Prometheus.
  assert.match(res.body, /^tickflow_ready 0$/m);
  assert.match(res.body, /^tickflow_component_up\{component="source"\} 1$/m);
  assert.match(res.body, /^tickflow_component_up\{component="bus"\} 0$/m);
});
