import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startAlerts } from '../../src/alerts/service.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { insertTrades, openTestDatabase, testApp } from '../api/helpers.js';
import { BTC, NO_TROUBLE, spreadWindow } from '../support/alerts.js';
import { DESKTOP, buildDashboard, launchChromium, openDashboard } from './browser.js';

test('the dashboard alerts panel shows what fires (rule, value, threshold) and the history of fired and resolved alerts', async (t) => {
  const now = Date.now();
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.00', quantity: '0.01', time: now - 3_000 }]);
  const rules = [
    { name: 'spread-wide', condition: 'spread' as const, threshold: 10, for: 0 },
    { name: 'price-jump', condition: 'priceMove' as const, threshold: 2, for: 0 },
  ];
  const config = configSchema.parse({ alerts: { rules } });
  let clock = now;
  const service = await startAlerts({ config, db, logger: silentLogger(), probe: async () => NO_TROUBLE, notifiers: {}, now: () => clock });
  t.after(() => service.close());
  const window = (start: number, bps: number, open: string, close: string) => [
    spreadWindow(BTC, start, bps),
    {
      type: 'signal' as const,
      kind: 'tradeMetrics' as const,
      ...BTC,
      interval: '1m',
      time: start,
      end: start + 30_000,
      final: true,
      vwap: '100',
      volume: '1',
      buyVolume: '1',
      sellVolume: '0',
      tradeCount: 3,
      priceStddev: 0.1,
      open,
      close,
      volatility: 0.001,
      volumeRatio: 1,
      priceMovePct: ((+close - +open) / +open) * 100,
    },
  ];
  service.observe(window(now - 60_000, 12.5, '100', '103'));
  await service.evaluate();
  clock = now + 1_000;
  service.observe(window(now - 30_000, 12.5, '100', '100.5'));
  await service.evaluate();

  const webRoot = await buildDashboard(t);
  const { app } = testApp(t, db, { webRoot, config: { alerts: { rules } }, alerts: service });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(t);
  const { page, errors } = await openDashboard(browser, baseUrl, DESKTOP);
  const firing = page.locator('#alerts .alerts-firing li.alert-firing');
  await firing.first().waitFor();
  assert.deepEqual(await firing.evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.rule, e.textContent])), [
    ['spread-wide', `${new Date(now - 60_000).toISOString().slice(11, 19)}spread-wideBTCUSDT: 12.5 (threshold 10)`],
  ]);
  const history = page.locator('#alerts .alerts-history li');
  assert.deepEqual(await history.evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.rule, (e as HTMLElement).dataset.state])), [
    ['price-jump', 'resolved'],
    ['price-jump', 'firing'],
    ['spread-wide', 'firing'],
  ]);
  assert.match((await history.first().textContent()) ?? '', /price-jump resolved.*\|price move\| in the window 3\.00% \(threshold 2\.00%\)/);
  assert.deepEqual(errors, []);
});
