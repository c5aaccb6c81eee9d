import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnTickflow } from '../support/cli.js';
import { tempDir } from '../support/pipeline.js';
import { startPrometheus } from '../support/prometheus.js';

test('a real Prometheus scrapes tickflow run --source sim: pipeline series exist and increase; probes answer', async (t) => {
  const dataDir = tempDir();
  const run = spawnTickflow([
    'run',
    '--source',
    'sim',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    'store.embeddedPort=0',
    '--set',
    'store.batchMs=500',
    '--set',
    'simulator.tradesPerSecond=50',
  ]);
  t.after(() => run.child.kill('SIGKILL'));
  const line = await run.waitForLog(/dashboard and API listening/);
  const api = (JSON.parse(line) as { url: string }).url;
  const target = new URL(api).host;

  for (const path of ['/live', '/ready']) {
    let res = await fetch(`${api}${path}`);
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await fetch(`${api}${path}`);
    }
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
  }
  const health = (await (await fetch(`${api}/health`)).json()) as { components: Record<string, { state: string }> };
  for (const c of ['source', 'bus', 'database', 'store']) assert.equal(health.components[c]?.state, 'up', `${c} up`);

  const prom = await startPrometheus([target]);
  t.after(() => prom.close());
  const increasing = async (promql: string) => {
    const first = await prom.waitFor(promql, (r) => r.length > 0 && r.some((s) => s.value > 0), 40_000);
    const before = first.reduce((a, s) => a + s.value, 0);
    await prom.waitFor(promql, (r) => r.reduce((a, s) => a + s.value, 0) > before, 40_000);
  };
  await increasing('sum(tickflow_messages_received_total{stream="trade"})');
  await increasing('sum(tickflow_rows_written_total{table="trades"})');
  await increasing('sum(tickflow_end_to_end_latency_seconds_count)');
  await increasing('sum(tickflow_ingest_latency_seconds_count)');
  await increasing('tickflow_process_cpu_seconds_total');
  await increasing('sum(tickflow_events_produced_total{topic="trades"})');
  const ready = await prom.query('tickflow_ready');
  assert.equal(ready[0]?.value, 1);
  const symbols = await prom.query('count by (symbol) (tickflow_messages_received_total)');
  assert.deepEqual(symbols.map((s) => s.metric.symbol).sort(), ['BTCUSDT', 'ETHUSDT']);

  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0);
});
