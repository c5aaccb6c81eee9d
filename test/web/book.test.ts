import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BookSnapshotEvent } from '../../src/core/events.js';
import { writeEvents } from '../../src/store/writer.js';
import { defaultWebRoot } from '../../src/web/static.js';
import { insertTrades, openTestDatabase, testApp } from '../api/helpers.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { DESKTOP, buildDashboard, launchChromium, openDashboard } from './browser.js';

/** A book snapshot as the book keeper stores it: 15 levels a side around 61 000, quantities growing outwards. */
function storedBook(now: number): BookSnapshotEvent {
  const level = (price: number, i: number) => [price.toFixed(2), (0.125 * (i + 1)).toFixed(8)] as const;
  return {
    type: 'bookSnapshot',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    updateId: 777_001,
    depth: 20,
    bids: Array.from({ length: 15 }, (_, i) => level(61_000 - i * 0.5, i)),
    asks: Array.from({ length: 15 }, (_, i) => level(61_000.01 + i * 0.5, i)),
    takenAt: now - 1_000,
  };
}

test('the dashboard shows the order book: a ladder with the book levels and a cumulative depth chart', async (t) => {
  const now = Date.now();
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.00', quantity: '0.01', time: now - 3_000 }]);
  const book = storedBook(now);
  await writeEvents(db, [book]);
  const webRoot = await buildDashboard(t);
  const { app } = testApp(t, db, { webRoot });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, baseUrl, DESKTOP);
  const { page } = dash;

  await page.waitForSelector('#book tbody[data-update-id="777001"]');
  const rows = await page
    .locator('#book tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.side, (tr as HTMLElement).dataset.price, (tr as HTMLElement).dataset.qty]));
  // Asks from the deepest down to the best, then bids from the best down.
  const expected = [...[...book.asks].reverse().map(([p, q]) => ['ask', p, q]), ...book.bids.map(([p, q]) => ['bid', p, q])];
  assert.deepEqual(rows, expected);
  // The cumulative column of the deepest bid is the exact sum of the bid quantities (0.125 × (1 + … + 15) = 15).
  assert.equal(await page.locator('#book tr.bid').last().getAttribute('data-total'), '15.00000000');
  assert.equal(Number(await page.locator('#book tr.bid').last().locator('td').nth(2).textContent()), 15);
  assert.equal(await page.locator('#book svg.depth-chart path').count(), 2);
  assert.match((await page.locator('#book .book-status').textContent()) ?? '', /stored · update 777001/);
  assert.deepEqual(dash.errors, [], 'no console errors');
  await page.waitForSelector('#chart[data-bars]');
  await dash.screenshot('dashboard-book');

  // A symbol with no book yet: the panel says so instead of showing the other symbol's levels.
  await insertTrades(db, [{ symbol: 'ETHUSDT', id: 2, price: '2600.00', quantity: '1', time: now - 2_000 }]);
  const eth = await openDashboard(browser, baseUrl, DESKTOP, '#binance:spot/ETHUSDT/1m');
  await eth.page.waitForFunction(() => /no order book yet/.test(document.querySelector('#book .book-status')?.textContent ?? ''));
  assert.equal(await eth.page.locator('#book tbody tr').count(), 0);
  assert.deepEqual(eth.errors, []);
});

test('tickflow run --source sim: the ladder shows the live book, level for level as /api/book serves it', async (t) => {
  // startRun serves the default build; rebuilt so that it is the current client code.
  await buildDashboard(t, defaultWebRoot());
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'depth'],
    'store.dataDir': tempDir(),
    // A slow market: the book often stands still for a whole poll.
    'simulator.tradesPerSecond': 1,
    'simulator.bookTickersPerSecond': 1,
  });
  const api = pipeline.apiUrl as string;
  const browser = await launchChromium(t);
  const dash = await openDashboard(browser, api, DESKTOP);
  const { page } = dash;
  await page.waitForFunction(() => /^live · update/.test(document.querySelector('#book .book-status')?.textContent ?? ''));
  for (let attempt = 0; ; attempt++) {
    assert.ok(attempt < 100, 'the page and /api/book never showed the same update in 100 tries');
    const shown = await page.locator('#book tbody').getAttribute('data-update-id');
    const served = (await (await fetch(`${api}/api/book?symbol=BTCUSDT&depth=15`)).json()) as {
      updateId: number;
      bids: [string, string][];
      asks: [string, string][];
    };
    if (String(served.updateId) !== shown) {
      await page.waitForFunction((was) => document.querySelector('#book tbody')?.getAttribute('data-update-id') !== was, shown);
      continue;
    }
    const rows = await page
      .locator('#book tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.side, (tr as HTMLElement).dataset.price, (tr as HTMLElement).dataset.qty]));
    if ((await page.locator('#book tbody').getAttribute('data-update-id')) !== shown) continue;
    assert.deepEqual(rows, [...[...served.asks].reverse().map(([p, q]) => ['ask', p, q]), ...served.bids.map(([p, q]) => ['bid', p, q])]);
    assert.equal(rows.length, 30);
    break;
  }
  assert.deepEqual(dash.errors, []);
  await dash.screenshot('dashboard-book-live');
});
