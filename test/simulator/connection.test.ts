import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { simulator, TestClient } from './client.js';

/** Upgrades to `url` and then never reads: the simulator's send buffer towards it can only grow. */
async function stalledClient(url: string): Promise<Socket> {
  const u = new URL(url.replace(/^ws:/, 'http:'));
  return new Promise((resolve, reject) => {
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    req.on('upgrade', (_res, socket) => {
      socket.pause();
      resolve(socket);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

test('a client that stops reading is cut once the buffer limit is queued towards it, counted and logged; the others keep their stream', async (t) => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  const limit = 256 * 1024;
  const sim = await simulator(t, { tradesPerSecond: 2_000, bookTickersPerSecond: 2_000, maxClientBufferBytes: limit, logger });
  const streams = 'btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker/btcusdt@depth@100ms/ethusdt@trade/ethusdt@bookTicker';
  const slow = await stalledClient(`${sim.wsBaseUrl}/stream?streams=${streams}`);
  t.after(() => slow.destroy());
  const reader = await TestClient.open(t, `${sim.wsBaseUrl}/ws/ethusdt@aggTrade`);
  // The kernel's socket buffers fill first, then the simulator's queue passes the limit.
  await reader.until(() => (sim.stats().slowConsumerDisconnects > 0 ? true : undefined), 'the stalled client to be cut', 60_000);
  assert.equal(sim.stats().slowConsumerDisconnects, 1);
  assert.equal(sim.stats().connections, 1, 'only the reading client is left');
  const warning = lines.map((l) => JSON.parse(l) as { msg: string; queuedBytes: number; peer: string }).find((l) => /slow consumer/.test(l.msg));
  assert.ok(warning, `a slow-consumer warning was logged: ${lines.join('')}`);
  assert.ok(warning.queuedBytes > limit);
  assert.equal(warning.peer, `${slow.localAddress}:${slow.localPort}`);
  const report = (await (await fetch(`${sim.restBaseUrl}/sim/stats`)).json()) as { slowConsumerDisconnects: number };
  assert.equal(report.slowConsumerDisconnects, 1);
  const before = reader.frames.length;
  await reader.waitForFrames(before + 5);
  assert.ok(reader.isOpen, 'the client that reads is not cut');
});
