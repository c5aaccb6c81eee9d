import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { candleRow, insertProcessorRows, insertTrades, openTestDatabase, spreadMetricsRow, testApp, trade, tradeMetricsRow } from '../api/helpers.js';
import type { Upsert } from '../../src/processors/processor-core.js';
import { DESKTOP, PHONE, buildDashboard, launchChromium, openDashboard } from './browser.js';

const MINUTE = 60_000;

/** A random-walk of final 1m and 5m candles ending just before the current minute. */
function history(symbol: string, base: number, now: number): Upsert[] {
  const current = Math.floor(now / MINUTE) * MINUTE;
  const rows: Upsert[] = [];
  let price = base;
  for (let i = 40; i >= 1; i--) {
    const open = price;
    price = +(price * (1 + Math.sin(i * 1.7) * 0.002)).toFixed(2);
    const high = Math.max(open, price) * 1.0007;
    const low = Math.min(open, price) * 0.9993;
    rows.push({
      table: 'candles',
      row: candleRow(symbol, '1m', current - i * MINUTE, {
        open: open.toFixed(2),
        high: high.toFixed(2),
        low: low.toFixed(2),
        close: price.toFixed(2),
        volume: (5 + (i % 7)).toFixed(3),
        vwap: ((open + price) / 2).toFixed(2),
        indicators: { sma20: i <= 21 ? (price * 0.999).toFixed(2) : null, ema12: (price * 1.0005).toFixed(2) },
      }),
    });
  }
  for (let i = 8; i >= 1; i--) {
    const start = Math.floor(now / (5 * MINUTE)) * 5 * MINUTE - i * 5 * MINUTE;
    rows.push({
      table: 'candles',
      row: candleRow(symbol, '5m', start, { open: `${base}`, high: `${base + 20}`, low: `${base - 15}`, close: `${base + 5}`, windowEnd: start + 5 * MINUTE }),
    });
  }
  for (let i = 30; i >= 1; i--) {
    rows.push({
      table: 'spread_metrics',
      row: spreadMetricsRow(symbol, current - i * MINUTE, { avgSpreadBps: 1 + Math.abs(Math.sin(i)) * 2, spreadWarning: i === 3 }),
    });
  }
  rows.push({ table: 'trade_metrics', row: tradeMetricsRow(symbol, current - 5 * MINUTE, { priceMove: true, open: '100', close: '102.4' }) });
  return rows;
}

async function lastBar(page: Page): Promise<{ time: number; open: number; high: number; low: number; close: number } | null> {
  const text = await page.getAttribute('#chart', 'data-last');
  return text ? JSON.parse(text) : null;
}

test('the dashboard renders stored data, follows the live feed, and switches symbol and interval', async (t) => {
  const now = Date.now();
  const db = await openTestDatabase(t);
  await insertProcessorRows(db, [...history('BTCUSDT', 61_000, now), ...history('ETHUSDT', 2_600, now)]);
  await insertTrades(db, [
    { symbol: 'BTCUSDT', id: 1, price: '61000.00', quantity: '0.01', time: now - 3_000 },
    { symbol: 'BTCUSDT', id: 2, price: '61001.00', quantity: '0.02', time: now - 2_000, buyerIsMaker: true },
    // The switcher offers instruments with data only (issue 16 item 6).
    { symbol: 'ETHUSDT', id: 69, price: '2600.00', quantity: '1.0', time: now - 2_000 },
  ]);
  const webRoot = await buildDashboard(t);
  const { app, live } = testApp(t, db, { webRoot });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(t);

  const desk = await openDashboard(browser, baseUrl, DESKTOP);
  const { page } = desk;
  await page.waitForSelector('#chart[data-symbol="BTCUSDT"][data-bars="40"]');
  await page.waitForSelector('#connection[data-state="open"]');
  assert.equal(await page.locator('#tape tr').count(), 2);
  assert.equal(await page.locator('#anomalies li[data-kind="spreadWarning"]').count(), 1);
  assert.equal(await page.locator('#anomalies li[data-kind="priceMove"]').count(), 1);
  assert.equal(await page.locator('#legend i').count(), 3); // VWAP, EMA12, SMA20
  await page.waitForSelector('#pipeline[data-updated]');

  // The forming candle appears with the first live trade and moves with the next ones.
  const tradeTime = Date.now();
  live.publish(trade('BTCUSDT', 3, '61010.00', '0.5', tradeTime));
  await page.waitForSelector('#chart[data-bars="41"]');
  const forming = Math.floor(tradeTime / MINUTE) * MINUTE;
  assert.deepEqual(await lastBar(page), { time: forming, open: 61010, high: 61010, low: 61010, close: 61010, volume: 0.5 });
  live.publish(trade('BTCUSDT', 4, '61055.50', '0.25', tradeTime + 1));
  live.publish(trade('BTCUSDT', 5, '61020.25', '0.25', tradeTime + 2));
  await page.waitForFunction(() => JSON.parse(document.getElementById('chart')?.dataset.last ?? '{}').close === 61020.25);
  assert.deepEqual(await lastBar(page), { time: forming, open: 61010, high: 61055.5, low: 61010, close: 61020.25, volume: 1 });

  // A whale (61 000 × 2 ≥ 100 000) is highlighted in the tape.
  live.publish(trade('BTCUSDT', 6, '61000.00', '2.00000000', tradeTime + 3));
  await page.waitForSelector('#tape tr.whale[data-id="6"]');
  assert.equal(await page.locator('#tape tr.whale').count(), 1);
  await page.waitForTimeout(300); // let the chart repaint before the picture
  await desk.screenshot('dashboard-desktop');

  // Interval switch: the 5m candles from the API.
  await page.click('#intervals button[data-value="5m"]');
  await page.waitForSelector('#chart[data-interval="5m"][data-bars="9"]');
  assert.match(page.url(), /#binance:spot\/BTCUSDT\/5m$/);

  // Symbol switch: ETHUSDT candles, and the stream now carries ETHUSDT trades.
  await page.click('#symbols button[data-value="ETHUSDT"]');
  await page.waitForSelector('#chart[data-symbol="ETHUSDT"][data-interval="5m"]');
  await page.click('#intervals button[data-value="1m"]');
  await page.waitForSelector('#chart[data-symbol="ETHUSDT"][data-bars="40"]');
  await page.waitForSelector('#connection[data-state="open"]');
  live.publish(trade('BTCUSDT', 7, '61000.00', '0.1', Date.now()));
  live.publish(trade('ETHUSDT', 70, '2601.50', '1.5', Date.now()));
  await page.waitForSelector('#tape tr[data-id="70"]');
  assert.equal(await page.locator('#tape tr[data-id="7"]').count(), 0);

  const phone = await openDashboard(browser, baseUrl, PHONE, '#BTCUSDT/1m');
  await phone.page.waitForSelector('#chart[data-symbol="BTCUSDT"][data-bars="41"]');
  await phone.page.waitForSelector('#pipeline[data-updated]');
  const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= PHONE.width, `no horizontal scrolling at phone width (${width}px)`);
  await phone.page.waitForTimeout(300);
  await phone.screenshot('dashboard-phone');

  for (const d of [desk, phone]) {
    assert.deepEqual(d.errors, [], 'no console errors');
    assert.deepEqual(d.external, [], 'no requests leave the server');
  }
});

test('the dashboard runs under the Content-Security-Policy header: its own code passes, an injected inline script is refused', async (t) => {
  const now = Date.now();
  const db = await openTestDatabase(t);
  await insertProcessorRows(db, history('BTCUSDT', 61_000, now));
  const webRoot = await buildDashboard(t);
  const { app } = testApp(t, db, { webRoot });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  for (const path of ['/', '/main.js', '/main.css']) {
    const res = await fetch(`${baseUrl}${path}`);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
  }
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, baseUrl, DESKTOP);
  await dash.page.waitForSelector('#chart[data-symbol="BTCUSDT"][data-bars="40"]');
  await dash.page.waitForSelector('#connection[data-state="open"]');
  await dash.page.waitForSelector('#pipeline[data-updated]');
  assert.deepEqual(dash.errors, [], 'the dashboard itself violates nothing');

  const ran = await dash.page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.injected = true';
    document.head.append(script);
    return (window as unknown as { injected?: boolean }).injected === true;
  });
  assert.equal(ran, false, 'an inline script does not run');
  assert.ok(
    dash.errors.some((e) => /Content Security Policy/.test(e)),
    `the browser reports the refusal: ${dash.errors.join(' | ')}`,
  );
});

test('after the server restarts, the page reconnects by itself and reloads its state', async (t) => {
  const now = Date.now();
  const db = await openTestDatabase(t);
  await insertProcessorRows(db, history('BTCUSDT', 61_000, now));
  const webRoot = await buildDashboard(t);
  const first = testApp(t, db, { webRoot });
  const baseUrl = await first.app.listen({ host: '127.0.0.1', port: 0 });
  const port = Number(new URL(baseUrl).port);
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, baseUrl, DESKTOP);
  const { page } = dash;
  await page.waitForSelector('#connection[data-state="open"]');
  const loadedBefore = await page.getAttribute('body', 'data-loaded');

  await first.app.close();
  await page.waitForSelector('#connection:not([data-state="open"])');
  // Stored while the server was away: the reload must pick it up.
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 41, price: '61100.00', quantity: '0.3', time: Date.now() }]);

  const second = testApp(t, db, { webRoot });
  await second.app.listen({ host: '127.0.0.1', port });
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 20_000 });
  await page.waitForFunction((before) => document.body.dataset.loaded !== before, loadedBefore);
  await page.waitForSelector('#tape tr[data-id="41"]');
  second.live.publish(trade('BTCUSDT', 42, '61101.00', '0.1', Date.now()));
  await page.waitForSelector('#tape tr[data-id="42"]');
  // Requests refused while the server was down may be logged by the browser; nothing else may.
  assert.deepEqual(
    dash.errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|EventSource/.test(e)),
    [],
  );
});

test('with api.token set, the page opened as /?token= uses it for requests and the stream', async (t) => {
  const db = await openTestDatabase(t);
  await insertProcessorRows(db, history('BTCUSDT', 61_000, Date.now()));
  const webRoot = await buildDashboard(t);
  const { app, live } = testApp(t, db, { webRoot, config: { api: { token: 's3cret' } } });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, baseUrl, DESKTOP, '?token=s3cret');
  const { page } = dash;
  await page.waitForSelector('#chart[data-bars="40"]');
  await page.waitForSelector('#connection[data-state="open"]');
  assert.doesNotMatch(page.url(), /token/, 'the token leaves the address bar');
  live.publish(trade('BTCUSDT', 9, '61000.00', '0.1', Date.now()));
  await page.waitForSelector('#tape tr[data-id="9"]');
  assert.deepEqual(dash.errors, []);
});
