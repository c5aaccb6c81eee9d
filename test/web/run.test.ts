import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultWebRoot } from '../../src/web/static.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { DESKTOP, buildDashboard, launchChromium, openDashboard } from './browser.js';

test('tickflow run --source sim: the dashboard shows the simulated market live', async (t) => {
  // startRun serves the default build; rebuilt so that it is the current client code.
  await buildDashboard(t, defaultWebRoot());
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT', 'ETHUSDT'],
    'store.dataDir': tempDir(t),
    'simulator.tradesPerSecond': 40,
  });
  assert.ok(pipeline.apiUrl);
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, pipeline.apiUrl, DESKTOP);
  const { page } = dash;
  await page.waitForSelector('#chart[data-symbol="BTCUSDT"]');
  await page.waitForSelector('#connection[data-state="open"]');
  // Live trades reach the tape and build the forming candle.
  await page.waitForFunction(() => (document.getElementById('tape')?.childElementCount ?? 0) >= 10);
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.bars ?? 0) >= 1);
  // The pipeline panel reports the simulator's streams with a rate.
  await page.waitForFunction(() => /BTCUSDT trade/.test(document.getElementById('pipeline')?.textContent ?? ''));
  const last = JSON.parse((await page.getAttribute('#chart', 'data-last')) ?? '{}');
  assert.ok(last.close > 0 && last.high >= last.low, JSON.stringify(last));
  await page.waitForTimeout(500);
  await dash.screenshot('run-sim-desktop');
  assert.deepEqual(dash.errors, []);
  assert.deepEqual(dash.external, []);
});
