import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { TickflowError } from '../../src/core/errors.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { defaultHealthPort, healthEndpointFor, startOpsServer } from '../../src/ops/ops-server.js';

const deps = () => ({ health: new HealthRegistry(), metrics: createMetrics(), logger: silentLogger() });

test('startOpsServer serves the probes over a real socket and closes', async (t) => {
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, ...deps() });
  t.after(() => ops.close());
  assert.ok(ops.port > 0);
  const base = `http://127.0.0.1:${ops.port}`;
  assert.equal((await fetch(`${base}/live`)).status, 200);
  assert.equal(await (await fetch(`${base}/ready`)).text(), 'ready\n');
  const metrics = await fetch(`${base}/metrics`);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(await metrics.text(), /^# TYPE tickflow_messages_received_total counter$/m);
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  await ops.close();
  await assert.rejects(fetch(`${base}/live`));
});

test('a taken port is a typed error that names the key to change', async (t) => {
  const first = await startOpsServer({ host: '127.0.0.1', port: 0, ...deps() });
  t.after(() => first.close());
  await assert.rejects(startOpsServer({ host: '127.0.0.1', port: first.port, ...deps() }), (err: unknown) => {
    assert.ok(err instanceof TickflowError);
    assert.equal(err.code, 'TF_CONFIG_INVALID');
    assert.match(err.message, /EADDRINUSE/);
    assert.match(err.message, /ops\.healthPort/);
    return true;
  });
});

test('each role has its own default port; roles with the API serve probes there', () => {
  assert.deepEqual((['run', 'ingest', 'store', 'process', 'serve'] as const).map(defaultHealthPort), ['api', 9464, 9465, 9466, 'api']);
  const auto = loadConfig({ env: {} });
  assert.deepEqual(healthEndpointFor('run', auto), { onApi: true });
  assert.deepEqual(healthEndpointFor('serve', auto), { onApi: true });
  assert.deepEqual(healthEndpointFor('store', auto), { onApi: false, host: '127.0.0.1', port: 9465 });
  const noApi = loadConfig({ env: { TICKFLOW_API_ENABLED: 'false' } });
  assert.deepEqual(healthEndpointFor('run', noApi), { onApi: false, host: '127.0.0.1', port: 9464 });
  const fixed = loadConfig({ env: { TICKFLOW_OPS_HEALTH_PORT: '10001', TICKFLOW_OPS_HEALTH_HOST: '0.0.0.0' } });
  assert.deepEqual(healthEndpointFor('process', fixed), { onApi: false, host: '0.0.0.0', port: 10001 });
});
