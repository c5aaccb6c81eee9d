import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { SourceStatus } from '../../src/sources/source.js';
import type { Upsert } from '../../src/processors/processor-core.js';
import {
  bookTicker,
  candleRow,
  insertProcessorRows,
  insertTrades,
  openTestDatabase,
  spreadMetricsRow,
  testApp,
  trade,
  tradeMetricsRow,
} from '../api/helpers.js';
import { ARTIFACTS, DESKTOP, buildDashboard, launchChromium, openDashboard } from './browser.js';

/**
 * Issue 16: what the dashboard's panels say must be what the data says. One page over a finished
 * BTCUSDT replay (ETHUSDT configured, never received).
 */

const MINUTE = 60_000;
const SECOND = 1_000;
/** Midnight UTC, so the spread axis crosses a day boundary. */
const MIDNIGHT = Date.UTC(2024, 7, 9);

async function panelShot(page: Page, selector: string, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.locator(selector).screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

const json = async <T>(page: Page, selector: string, attribute: string): Promise<T> =>
  JSON.parse((await page.getAttribute(selector, attribute)) || 'null') as T;

/** 600 final 1m candles up to the minute before now: more than one /api/candles page (500). */
function candles(now: number): Upsert[] {
  const current = Math.floor(now / MINUTE) * MINUTE;
  return Array.from({ length: 600 }, (_, k) => {
    const i = 600 - k;
    const open = 61_000 + Math.round(Math.sin(i / 7) * 300);
    const close = open + ((i % 5) - 2) * 10;
    return {
      table: 'candles' as const,
      row: candleRow('BTCUSDT', '1m', current - i * MINUTE, {
        open: `${open}.00`,
        high: `${Math.max(open, close) + 15}.00`,
        low: `${Math.min(open, close) - 15}.00`,
        close: `${close}.00`,
        vwap: `${open}.00`,
        indicators: { sma20: null, ema12: `${close}.00` },
      }),
    };
  });
}

test('issue 16 panels: pressure from the processor, source and replay state, offered symbols, spread axes, tape formats, candle range and paging', async (t) => {
  const now = Date.now();
  const current = Math.floor(now / MINUTE) * MINUTE;
  const db = await openTestDatabase(t);
  await insertProcessorRows(db, [
    ...candles(now),
    // Five 5m candles: a short history still fills the width.
    ...Array.from({ length: 5 }, (_, i) => ({
      table: 'candles' as const,
      row: candleRow('BTCUSDT', '5m', current - (i + 1) * 5 * MINUTE, { windowEnd: current - i * 5 * MINUTE }),
    })),
    // The processor's trade metrics: the newest window is the USD-M 23:59 of the issue (taker buy 230.736 of 466.221).
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', current - 2 * MINUTE, { buyVolume: '10', sellVolume: '90' }) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', current - MINUTE, { buyVolume: '230.736', sellVolume: '235.485' }) },
    // One-tick spreads a second apart across midnight: constant, so an unclamped autoscale goes below 0.
    ...Array.from({ length: 40 }, (_, i) => ({
      table: 'spread_metrics' as const,
      row: spreadMetricsRow('BTCUSDT', MIDNIGHT - 20 * SECOND + i * SECOND, { avgSpreadBps: 0.0016, windowEnd: MIDNIGHT - 19 * SECOND + i * SECOND }),
    })),
  ]);
  // The tape: all taker sells, so a bar computed from these trades would say 0 % buy.
  await insertTrades(db, [
    { symbol: 'BTCUSDT', id: 1, price: '61236.27000000', quantity: '0.00020000', time: now - 3_000, buyerIsMaker: true },
    { symbol: 'BTCUSDT', id: 2, price: '61236.30000000', quantity: '0.00275000', time: now - 2_000, buyerIsMaker: true },
    { symbol: 'BTCUSDT', id: 3, price: '61240.00000000', quantity: '1.50000000', time: now - 1_000, buyerIsMaker: true },
  ]);
  const source: SourceStatus = { kind: 'replay', connections: [], lastMessageAt: {}, finished: true };
  const webRoot = await buildDashboard(t);
  const { app, live } = testApp(t, db, {
    webRoot,
    pipeline: () => ({
      source,
      bus: { kind: 'memory', consumerLag: [{ group: 'tickflow-process', topic: 'trades', partition: 0, lag: 0, recoveryDistance: 53_477 }] },
    }),
  });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, baseUrl, DESKTOP);
  const { page } = dash;
  await page.waitForSelector('#chart[data-symbol="BTCUSDT"][data-bars="500"]');
  await page.waitForSelector('#pipeline[data-updated]');

  // (5) The source is named, and a finished replay is not "live"; (4) no latency for a replay;
  // (10) the recovery distance is not a lag.
  await page.waitForSelector('#connection[data-state="open"][data-finished="true"]');
  assert.equal(await page.textContent('#connection'), 'replay finished');
  const pipelineText = (await page.textContent('#pipeline')) ?? '';
  assert.match(pipelineText, /source replay finished/);
  assert.match(pipelineText, /ingest latency n\/a/);
  assert.doesNotMatch(pipelineText, /-\d+(\.\d)? ms/);
  assert.match(pipelineText, /processing lag 0/);
  assert.match(pipelineText, /recovery distance 53477/);
  await panelShot(page, '.pipeline-panel', 'issue16-pipeline-replay-finished');

  // (6) Only symbols with data: ETHUSDT is configured but this run never received it.
  assert.deepEqual(await page.locator('#symbols button').evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.value)), ['BTCUSDT']);

  // (2) The pressure bar is the processor's newest window, labelled with it.
  const windowLabel = new Date(current - MINUTE).toISOString().slice(11, 16);
  assert.equal(await page.textContent('#pressure span'), `buy 49.5% · sell 50.5% (1m from ${windowLabel} UTC)`);
  assert.equal(await page.getAttribute('#pressure', 'data-buy-share'), (230.736 / 466.221).toFixed(4));
  live.publishMetric({
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    kind: 'trades',
    time: current,
    values: { interval: '1m', buyVolume: '3', sellVolume: '1', volume: '4', vwap: '61000', tradeCount: 4, priceStddev: 0 },
  });
  await page.waitForSelector(`#pressure[data-window="${current}"]`);
  assert.match((await page.textContent('#pressure span')) ?? '', /^buy 75\.0% · sell 25\.0% \(1m from/);

  // (8) Tape and header to the symbol's precision: prices to the cent, quantities to one lot step
  // of the finest quantity (5 decimals), right-aligned digit under digit.
  const rows = await page.locator('#tape tr').evaluateAll((trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (c) => c.textContent)));
  assert.deepEqual(
    rows.map((r) => r.slice(1)),
    [
      ['61240.00', '1.50000'],
      ['61236.30', '0.00275'],
      ['61236.27', '0.00020'],
    ],
  );
  // Right after the stored spread windows, as a replay of that night would send it.
  live.publish(bookTicker('BTCUSDT', 1, '61236.27000000', '61236.28000000', MIDNIGHT + 20 * SECOND));
  await page.waitForFunction(() => /spread/.test(document.getElementById('quote')?.textContent ?? ''));
  const quote = await page.locator('#quote span').evaluateAll((spans) => spans.map((s) => s.textContent));
  // (7) One tick at 61 236 is 0.0016 bps, not "0.00 bps".
  assert.deepEqual(quote, ['last 61240.00', 'bid 61236.27', 'ask 61236.28', 'spread 0.0016 bps']);
  await panelShot(page, '.tape-panel', 'issue16-tape-pressure');

  // (7) Spread axes: one label per tick, seconds where points are seconds apart, a date at
  // midnight, and nothing below zero.
  await page.waitForSelector('#spread-chart[data-ticks][data-range]');
  const ticks = (await json<[number, string][]>(page, '#spread-chart', 'data-ticks')).map(([, label]) => label);
  assert.ok(ticks.length >= 4, ticks.join(' | '));
  assert.equal(new Set(ticks).size, ticks.length, `no repeated time label: ${ticks.join(' | ')}`);
  assert.ok(ticks.includes('Aug 9'), `midnight reads as a date: ${ticks.join(' | ')}`);
  for (const tick of ticks) assert.match(tick, /^(\d\d:\d\d:\d\d|[A-Z][a-z]{2} \d{1,2})$/);
  const range = await json<{ from: number; to: number }>(page, '#spread-chart', 'data-range');
  assert.ok(range.from >= 0, `the bps axis starts at 0 or above: ${JSON.stringify(range)}`);
  assert.equal(await page.getAttribute('#spread-chart', 'data-precision'), '4');
  await panelShot(page, '.spread-panel', 'issue16-spread');

  // (9) The newest page fills the width (the newest 150 bars, not squeezed to the right edge).
  const visible = await json<{ from: number; to: number }>(page, '#chart', 'data-visible');
  assert.ok(visible.to - visible.from > 100 && visible.to - visible.from < 170, JSON.stringify(visible));
  assert.ok(visible.to >= 499 && visible.to < 510, `the newest bar in view: ${JSON.stringify(visible)}`);
  await panelShot(page, '.chart-panel', 'issue16-candles-fitted');

  // Scrolling back pages older candles in through /api/candles; the view stays where it was.
  const box = await page.locator('#chart').boundingBox();
  assert.ok(box);
  for (let drag = 0; drag < 6 && (await page.getAttribute('#chart', 'data-bars')) === '500'; drag++) {
    await page.mouse.move(box.x + 40, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 80, box.y + box.height / 2, { steps: 10 });
    await page.mouse.up();
  }
  await page.waitForSelector('#chart[data-bars="600"]');
  assert.equal(Number(await page.getAttribute('#chart', 'data-oldest')), current - 600 * MINUTE);
  const scrolled = await json<{ from: number; to: number }>(page, '#chart', 'data-visible');
  assert.ok(scrolled.to < 400, `still looking at old candles: ${JSON.stringify(scrolled)}`);
  await panelShot(page, '.chart-panel', 'issue16-candles-paged');

  // A new candle keeps the zoom (the bar width the user chose).
  const width = scrolled.to - scrolled.from;
  live.publish(trade('BTCUSDT', 4, '61250.00', '0.1', Date.now()));
  await page.waitForSelector('#chart[data-bars="601"]');
  const after = await json<{ from: number; to: number }>(page, '#chart', 'data-visible');
  assert.ok(Math.abs(after.to - after.from - width) < 1e-6, `zoom kept: ${JSON.stringify(scrolled)} → ${JSON.stringify(after)}`);

  // A short history (five 5m candles) fills the width too.
  await page.click('#intervals button[data-value="5m"]');
  await page.waitForSelector('#chart[data-interval="5m"][data-bars="5"], #chart[data-interval="5m"][data-bars="6"]');
  const short = await json<{ from: number; to: number }>(page, '#chart', 'data-visible');
  assert.ok(short.from <= 0 && short.to - short.from < 15, `few candles spread over the width: ${JSON.stringify(short)}`);
  await panelShot(page, '.chart-panel', 'issue16-candles-short');

  // (6) Once ETHUSDT data arrives, it is offered.
  await insertTrades(db, [{ symbol: 'ETHUSDT', id: 1, price: '2601.50000000', quantity: '0.10000000', time: Date.now() }]);
  live.publish(trade('ETHUSDT', 2, '2601.50000000', '0.1', Date.now()));
  await page.waitForSelector('#symbols button[data-value="ETHUSDT"]');
  await panelShot(page, '.bar', 'issue16-switcher');

  assert.deepEqual(dash.errors, []);
  assert.deepEqual(dash.external, []);
});
