import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { exitedWithin, spawnTickflow } from '../support/cli.js';
import { waitFor } from '../support/wait.js';
import { simulator } from './client.js';

const ALL = 'btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth@100ms/ethusdt@trade/ethusdt@aggTrade/ethusdt@bookTicker/ethusdt@depth@100ms';

/** A client that takes every frame and only counts them. */
async function counting(url: string): Promise<{ frames: () => number; ws: WebSocket }> {
  const ws = new WebSocket(url);
  let n = 0;
  ws.on('message', () => (n += 1));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { frames: () => n, ws };
}

test('asked for more than the machine can play, the simulator slows the market down and still answers upgrades, REST, faults and emitted()', {
  timeout: 180_000,
}, async (t) => {
  // A million trades per second per symbol is beyond any machine: the market falls behind the clock.
  const sim = await simulator(t, { tradesPerSecond: 1_000_000, bookTickersPerSecond: 1_000_000 });
  const first = await counting(`${sim.wsBaseUrl}/stream?streams=${ALL}`);
  t.after(() => first.ws.terminate());
  await waitFor('the market slowed down, and frames flowing while overloaded', () => sim.stats().marketSlowedDownMs > 0 && first.frames() > 0, 60_000);

  const second = await counting(`${sim.wsBaseUrl}/ws/btcusdt@trade`);
  t.after(() => second.ws.terminate());
  await waitFor('frames on a connection opened under load', () => second.frames() > 0, 60_000);

  const depth = await fetch(`${sim.restBaseUrl}/api/v3/depth?symbol=BTCUSDT&limit=5`);
  assert.equal(depth.status, 200);
  assert.equal(((await depth.json()) as { bids: unknown[] }).bids.length, 5);
  const fault = await fetch(`${sim.restBaseUrl}/sim/faults/whale`, { method: 'POST', body: JSON.stringify({ symbol: 'BTCUSDT', notional: 1_000_000 }) });
  assert.equal(fault.status, 200);
  const emitted = (await (await fetch(`${sim.restBaseUrl}/sim/emitted`)).json()) as Record<string, { ranges: [number, number][] }>;
  assert.equal(emitted['btcusdt@trade']?.ranges.length, 1, 'trade ids stay contiguous under overload');
  const stats = (await (await fetch(`${sim.restBaseUrl}/sim/stats`)).json()) as { connections: number; marketSlowedDownMs: number };
  assert.equal(stats.connections, 2);
  assert.ok(stats.marketSlowedDownMs > 0);
  await sim.close();
});

test('tickflow simulate under full load exits on SIGTERM with its clients connected', { timeout: 180_000 }, async (t) => {
  const cli = spawnTickflow([
    'simulate',
    '--listen-port',
    '0',
    '--symbols',
    'BTCUSDT,ETHUSDT',
    '--trades-per-second',
    '1000000',
    '--set',
    'simulator.bookTickersPerSecond=1000000',
  ]);
  t.after(() => cli.child.kill('SIGKILL'));
  const wsBaseUrl = await waitFor('the simulator to listen', () => /WebSocket\s+(ws:\/\/\S+?)\/stream/.exec(cli.stdout())?.[1], 60_000);
  const clients = [await counting(`${wsBaseUrl}/stream?streams=${ALL}`), await counting(`${wsBaseUrl}/stream?streams=${ALL}`)];
  t.after(() => {
    for (const c of clients) c.ws.terminate();
  });
  await waitFor('both clients to receive frames', () => clients.every((c) => c.frames() > 1_000), {
    progress: () => Math.min(...clients.map((c) => c.frames())),
  });
  cli.child.kill('SIGTERM');
  assert.equal(await exitedWithin(cli, 60_000), 0, cli.stderr());
});
