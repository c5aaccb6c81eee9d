import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../../../src/ops/logger.js';
import { AttemptLimiter, Backoff } from '../../../src/sources/binance/backoff.js';
import { BinanceConnection, type ConnectionHandlers, type DownReason } from '../../../src/sources/binance/connection.js';
import { waitFor } from './wait.js';

interface TestServer {
  readonly url: string;
  readonly sockets: WebSocket[];
  /** Resolves with the n-th (1-based) connection the server accepted. */
  connection(n: number): Promise<WebSocket>;
}

async function listen(t: TestContext): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => sockets.push(ws));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  );
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/stream?streams=btcusdt@trade`,
    sockets,
    connection: async (n) => {
      await waitFor(() => sockets.length >= n, `connection #${n}`);
      return sockets[n - 1]!;
    },
  };
}

interface Recorder extends ConnectionHandlers {
  readonly opens: boolean[];
  readonly messages: string[];
  readonly downs: { reason: DownReason; detail: string; everOpened: boolean }[];
}

function recorder(): Recorder {
  const r: Recorder = {
    opens: [],
    messages: [],
    downs: [],
    onOpen: (reopened) => r.opens.push(reopened),
    onMessage: (raw) => r.messages.push(raw),
    onDown: (reason, detail, everOpened) => r.downs.push({ reason, detail, everOpened }),
  };
  return r;
}

function connect(t: TestContext, url: string, handlers: ConnectionHandlers, timeouts: { stallTimeoutMs?: number; pingTimeoutMs?: number } = {}) {
  const conn = new BinanceConnection(
    {
      id: 'test-0',
      url,
      streams: 1,
      stallTimeoutMs: timeouts.stallTimeoutMs ?? 30_000,
      pingTimeoutMs: timeouts.pingTimeoutMs ?? 30_000,
      backoff: { initialMs: 20, maxMs: 200, healthyAfterMs: 60_000 },
      limiter: new AttemptLimiter(),
      logger: silentLogger(),
    },
    handlers,
  );
  conn.start();
  t.after(() => conn.close());
  return conn;
}

test('answers a server ping with a pong that echoes the payload', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  connect(t, server.url, rec);
  const sock = await server.connection(1);
  const payload = Buffer.from('ping-1723161254087');
  const echoed = new Promise<Buffer>((resolve) => sock.once('pong', resolve));
  sock.ping(payload);
  assert.deepEqual(await echoed, payload);
  sock.send('{"stream":"btcusdt@trade","data":{}}');
  await waitFor(() => rec.messages.length === 1, 'message');
  assert.equal(rec.messages[0], '{"stream":"btcusdt@trade","data":{}}');
});

test('reconnects with backoff after the server closes the connection', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  const conn = connect(t, server.url, rec);
  (await server.connection(1)).close(1001, 'going away');
  await server.connection(2);
  await waitFor(() => rec.opens.length === 2, 'second open');
  assert.deepEqual(rec.opens, [false, true]);
  assert.equal(rec.downs.length, 1);
  assert.equal(rec.downs[0]!.reason, 'closed');
  assert.match(rec.downs[0]!.detail, /code 1001/);
  assert.equal(conn.status().reconnects, 1);
  assert.equal(conn.status().state, 'open');
});

test('a server that never pings is declared dead and reconnected (ping timeout)', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  connect(t, server.url, rec, { pingTimeoutMs: 300 });
  const sock = await server.connection(1);
  // Data keeps flowing, so only the missing pings can trigger the reconnect.
  const feed = setInterval(() => sock.send('{}'), 20);
  t.after(() => clearInterval(feed));
  await server.connection(2);
  assert.equal(rec.downs[0]!.reason, 'ping_timeout');
});

test('a connection with pings but no messages is declared stalled and reconnected', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  connect(t, server.url, rec, { stallTimeoutMs: 300 });
  const sock = await server.connection(1);
  const pings = setInterval(() => sock.ping(), 20);
  t.after(() => clearInterval(pings));
  await server.connection(2);
  assert.equal(rec.downs[0]!.reason, 'stall');
});

test('a refused first connection reports everOpened=false and keeps retrying', async (t) => {
  const server = await listen(t);
  // A port that was just free: connecting to it is refused.
  const probe = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => probe.once('listening', () => resolve()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const rec = recorder();
  const conn = connect(t, `ws://127.0.0.1:${port}/stream?streams=btcusdt@trade`, rec);
  await waitFor(() => rec.downs.length >= 2, 'two failed attempts');
  assert.equal(rec.downs[0]!.reason, 'error');
  assert.equal(rec.downs[0]!.everOpened, false);
  assert.match(conn.status().lastError ?? '', /ECONNREFUSED/);
  assert.equal(rec.opens.length, 0);
  assert.ok(server.sockets.length === 0);
});

test('close() is final: state closed, no reconnect is attempted', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  const conn = connect(t, server.url, rec);
  await server.connection(1);
  await waitFor(() => conn.isOpen, 'open');
  await conn.close();
  assert.equal(conn.status().state, 'closed');
  assert.equal(rec.downs.length, 0, 'a wanted close is not a disconnect');
});

test('backoff: capped exponential with full jitter, reset on demand', () => {
  const top = new Backoff(100, 800, () => 0.999999);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => top.next()), [99, 199, 399, 799, 799]);
  top.reset();
  assert.equal(top.next(), 99);
  const bottom = new Backoff(100, 800, () => 0);
  assert.equal(bottom.next(), 0);
});

test('attempt limiter: at most `limit` attempts per sliding window', () => {
  const limiter = new AttemptLimiter(3, 1_000);
  assert.deepEqual([0, 1, 2].map((now) => limiter.take(now)), [0, 0, 0]);
  assert.equal(limiter.take(3), 997);
  assert.equal(limiter.take(1_000), 0);
  assert.equal(limiter.take(1_000), 1);
});
