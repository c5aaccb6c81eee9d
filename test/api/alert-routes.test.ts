import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAlerts } from '../../src/alerts/service.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { NO_TROUBLE, spreadWindow, T0, BTC } from '../support/alerts.js';
import { openTestDatabase, testApp } from './helpers.js';

test('GET /api/alerts: firing alerts from the engine and the history from alert_events; GET /api/alerts/rules: the rules', async (t) => {
  const db = await openTestDatabase(t);
  const rules = [{ name: 'spread-wide', condition: 'spread' as const, threshold: 10, for: 0 }];
  const config = configSchema.parse({ alerts: { rules } });
  let now = T0 + 30_000;
  const service = await startAlerts({ config, db, logger: silentLogger(), probe: async () => NO_TROUBLE, notifiers: {}, now: () => now });
  t.after(() => service.close());
  service.observe([spreadWindow(BTC, T0, 12.5)]);
  await service.evaluate();
  const { app } = testApp(t, db, { config: { alerts: { rules } }, alerts: service });

  const firing = (await app.inject('/api/alerts')).json();
  assert.equal(firing.engine, true);
  assert.deepEqual(
    firing.firing.map((a: { rule: string; value: number; threshold: number }) => [a.rule, a.value, a.threshold]),
    [['spread-wide', 12.5, 10]],
  );
  assert.deepEqual(
    firing.history.map((h: { rule: string; state: string; message: string }) => [h.rule, h.state, h.message]),
    [['spread-wide', 'firing', 'spread-wide firing on BTCUSDT (binance spot): average spread 12.50 bps (threshold 10.00 bps)']],
  );

  now = T0 + 60_000;
  service.observe([spreadWindow(BTC, T0 + 30_000, 3)]);
  await service.evaluate();
  const after = (await app.inject('/api/alerts?rule=spread-wide&limit=5')).json();
  assert.deepEqual(after.firing, []);
  assert.deepEqual(
    after.history.map((h: { state: string }) => h.state),
    ['resolved', 'firing'],
  );
  assert.deepEqual((await app.inject('/api/alerts?rule=other')).json().history, []);

  const listed = (await app.inject('/api/alerts/rules')).json();
  assert.deepEqual(
    listed.rules.map((r: { name: string; threshold: number; forText: string }) => [r.name, r.threshold, r.forText]),
    [['spread-wide', 10, '0s']],
  );
  assert.deepEqual(listed.notifiers, { smtp: false, webhook: false });

  const bad = await app.inject('/api/alerts?rule=Not%20A%20Rule');
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'TF_API_BAD_PARAM');
});
