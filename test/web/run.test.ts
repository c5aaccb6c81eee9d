import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { parseUnits } from '../../src/core/decimal.js';
import { defaultWebRoot } from '../../src/web/static.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { DESKTOP, buildDashboard, launchChromium, openDashboard } from './browser.js';

interface Candle {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

const lastCandle = async (page: Page): Promise<Candle> => JSON.parse((await page.getAttribute('#chart', 'data-last')) || '{}') as Candle;

const WHALE_NOTIONAL = 250_000;

test('tickflow run --source sim: the dashboard shows the simulated market live', async (t) => {
  // startRun serves the default build; rebuilt so that it is the current client code.
  await buildDashboard(t, defaultWebRoot());
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT', 'ETHUSDT'],
    'store.dataDir': tempDir(),
    // Slow enough that an injected trade stays among the tape's 80 rows for a few seconds.
    'simulator.tradesPerSecond': 10,
  });
  assert.ok(pipeline.apiUrl);
  const sim = pipeline.simulator;
  assert.ok(sim);
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, pipeline.apiUrl, DESKTOP);
  const { page } = dash;

  // (a) Candles on screen, fed by live trades.
  await page.waitForSelector('#chart[data-symbol="BTCUSDT"][data-interval="1m"]');
  await page.waitForSelector('#connection[data-state="open"]');
  await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.bars ?? 0) >= 1, null, { timeout: 15_000 });
  await page.waitForFunction(() => (document.getElementById('tape')?.childElementCount ?? 0) >= 10);
  await page.waitForFunction(() => /BTCUSDT trade/.test(document.getElementById('pipeline')?.textContent ?? ''));
  const first = await lastCandle(page);
  assert.ok(first.close > 10_000 && first.high >= first.low, JSON.stringify(first));
  await dash.screenshot('run-sim-desktop');

  // (b) The forming candle changes with the stream, not with a reload: the document and its last
  // full reload (body data-loaded) stay the same while data-last moves.
  const loaded = await page.evaluate(() => {
    (window as unknown as { sameDocument: boolean }).sameDocument = true;
    return document.body.dataset.loaded;
  });
  const before = JSON.stringify(first);
  await page.waitForFunction((was) => (document.getElementById('chart')?.dataset.last ?? was) !== was, before);
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true);
  assert.equal(await page.evaluate(() => document.body.dataset.loaded), loaded);
  const later = await lastCandle(page);
  assert.ok(later.time > first.time || later.volume > first.volume, `${before} → ${JSON.stringify(later)}`);

  // (d) A whale injected through the simulator reaches the tape highlighted. whale() catches the
  // market up first, so the whale is the trade after the last one emitted so far.
  sim.faults.whale('BTCUSDT', WHALE_NOTIONAL);
  const whaleId = Math.max(...(sim.emitted()['btcusdt@trade']?.ranges ?? []).map(([, last]) => last)) + 1;
  const row = await page.waitForFunction((id) => {
    const tr = document.querySelector<HTMLTableRowElement>(`#tape tr[data-id="${id}"]`);
    if (!tr) return null;
    return {
      className: tr.className,
      title: tr.title,
      cells: Array.from(tr.cells, (c) => c.textContent ?? ''),
      background: getComputedStyle(tr).backgroundColor,
    };
  }, whaleId);
  const whale = await row.jsonValue();
  await dash.screenshot('run-sim-whale');
  assert.ok(whale, 'the whale row');
  assert.match(whale.className, /\bwhale\b/);
  assert.match(whale.title, /^whale: /);
  const ordinary = await page.$eval('#tape tr:not(.whale):not(.dropped)', (tr) => getComputedStyle(tr).backgroundColor);
  assert.notEqual(whale.background, ordinary, 'the whale row is styled apart');
  const [, price = '', quantity = ''] = whale.cells;
  const recorded = (await (await fetch(`${sim.restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${whaleId}&limit=1`)).json()) as {
    price: string;
    qty: string;
  }[];
  assert.deepEqual([parseUnits(price, 8), parseUnits(quantity, 8)], [parseUnits(recorded[0]?.price ?? '', 8), parseUnits(recorded[0]?.qty ?? '', 8)]);
  const notional = parseUnits(price, 8) * parseUnits(quantity, 8);
  const lotStep = parseUnits('0.00001', 8);
  assert.ok(notional >= BigInt(WHALE_NOTIONAL) * 10n ** 16n, `${price} × ${quantity}`);
  assert.ok(parseUnits(price, 8) * (parseUnits(quantity, 8) - lotStep) < BigInt(WHALE_NOTIONAL) * 10n ** 16n, 'exactly the injected size');

  // (c) The dashboard's own switchers change the chart: symbol, then interval.
  await page.click('#symbols button[data-value="ETHUSDT"]');
  await page.waitForSelector('#symbols button[data-value="ETHUSDT"][aria-pressed="true"]');
  await page.waitForFunction(() => {
    const chart = document.getElementById('chart');
    const last = JSON.parse(chart?.dataset.last || '{}') as { close?: number };
    return chart?.dataset.symbol === 'ETHUSDT' && last.close !== undefined && last.close < 10_000;
  });
  await page.waitForSelector('#connection[data-state="open"]');
  const eth1m = await lastCandle(page);
  assert.ok(eth1m.close > 0 && eth1m.time % 60_000 === 0, JSON.stringify(eth1m));
  await dash.screenshot('run-sim-ethusdt-1m');
  await page.click('#intervals button[data-value="5m"]');
  await page.waitForSelector('#chart[data-symbol="ETHUSDT"][data-interval="5m"]');
  await page.waitForFunction(() => {
    const last = JSON.parse(document.getElementById('chart')?.dataset.last || '{}') as { time?: number; close?: number };
    return last.time !== undefined && last.time % 300_000 === 0 && (last.close ?? Infinity) < 10_000;
  });
  const eth5m = await lastCandle(page);
  assert.ok(eth5m.time <= eth1m.time && eth5m.high >= eth5m.low, `${JSON.stringify(eth1m)} → ${JSON.stringify(eth5m)}`);
  assert.equal(new URL(page.url()).hash, '#binance:spot/ETHUSDT/5m');
  await page.waitForTimeout(500);
  await dash.screenshot('run-sim-ethusdt-5m');

  // (e) A clean console and a self-contained page.
  assert.deepEqual(dash.errors, []);
  assert.deepEqual(dash.external, []);
});
