import { test } from 'node:test';
import { HealthRegistry } from '../../src/ops/health.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { silentLogger } from '../../src/ops/logger.js';
import { startOpsServer } from '../../src/ops/ops-server.js';
import { startPrometheus } from '../support/prometheus.js';

const one = (value: number) => (s: { value: number }[]) => s.length === 1 && s[0]!.value === value;

test('a real Prometheus scrapes the ops server and sees counters increase', async (t) => {
  const metrics = createMetrics();
  const health = new HealthRegistry();
  health.register('source', () => ({ state: 'up' }));
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, health, metrics, logger: silentLogger() });
  t.after(() => ops.close());
  const received = { symbol: 'BTCUSDT', stream: 'trade' };
  metrics.messagesReceived.inc(received, 5);
  metrics.rowsWritten.inc({ table: 'trades' }, 500);
  metrics.produceLatency.observe(0.004);

  const prom = await startPrometheus([`127.0.0.1:${ops.port}`]);
  t.after(() => prom.close());

  await prom.waitFor('up{job="tickflow"}', one(1));
  const series = 'tickflow_messages_received_total{symbol="BTCUSDT",stream="trade"}';
  const [first] = await prom.waitFor(series, (s) => s.length === 1 && s[0]!.value >= 5);
  metrics.messagesReceived.inc(received, 7);
  await prom.waitFor(series, (s) => s.length === 1 && s[0]!.value >= first!.value + 7);

  await prom.waitFor('tickflow_rows_written_total{table="trades"}', one(500));
  await prom.waitFor('tickflow_produce_latency_seconds_count', one(1));
  await prom.waitFor('tickflow_ready', one(1));
  await prom.waitFor('tickflow_component_up{component="source"}', one(1));
  const rss = await prom.waitFor('tickflow_process_resident_memory_bytes', (s) => s.length === 1 && s[0]!.value > 0);
  t.diagnostic(`resident memory seen by Prometheus: ${Math.round(rss[0]!.value / 1e6)} MB`);
  await prom.waitFor('tickflow_process_cpu_seconds_total', (s) => s.length === 1 && s[0]!.value > 0);

  // Readiness changes reach Prometheus too (alerts on tickflow_ready == 0).
  health.register('store', () => ({ state: 'down', reason: 'database closed' }));
  await prom.waitFor('tickflow_ready', one(0));
  await prom.waitFor('tickflow_component_up{component="store"}', one(0));
});
