import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { type TestContext, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { type WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../../../src/ops/logger.js';
import { Backoff } from '../../../src/core/backoff.js';
import { AttemptLimiter } from '../../../src/sources/binance/attempt-limiter.js';
import { BinanceConnection, type ConnectionHandlers, type DownReason } from '../../../src/sources/binance/connection.js';
import { waitFor } from '../../support/wait.js';

const require = createRequire(import.meta.url);

interface TestServer {
  readonly url: string;
  readonly sockets: WebSocket[];
  /** Resolves with the n-th (1-based) connection the server accepted. */
  connection(n: number): Promise<WebSocket>;
}

/** `autoPong: false` makes a dead path: the server neither answers pings nor sends anything unasked. */
async function listen(t: TestContext, options: { autoPong?: boolean } = {}): Promise<TestServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
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
      await waitFor(`connection #${n}`, () => sockets.length >= n);
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

function connect(t: TestContext, url: string, handlers: ConnectionHandlers, timeouts: { stallTimeoutMs?: number } = {}) {
  const conn = new BinanceConnection(
    {
      id: 'test-0',
      url,
      streams: 1,
      stallTimeoutMs: timeouts.stallTimeoutMs ?? 30_000,
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
  await waitFor('message', () => rec.messages.length === 1);
  assert.equal(rec.messages[0], '{"stream":"btcusdt@trade","data":{}}');
});

test('reconnects with backoff after the server closes the connection', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  const conn = connect(t, server.url, rec);
  (await server.connection(1)).close(1001, 'going away');
  await server.connection(2);
  await waitFor('second open', () => rec.opens.length === 2);
  assert.deepEqual(rec.opens, [false, true]);
  assert.equal(rec.downs.length, 1);
  assert.equal(rec.downs[0]!.reason, 'closed');
  assert.match(rec.downs[0]!.detail, /code 1001/);
  assert.equal(conn.status().reconnects, 1);
  assert.equal(conn.status().state, 'open');
});

test('issue 9 kind 2 (keep-alive): a connection that delivers data is alive, however rarely the server pings', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  connect(t, server.url, rec, { stallTimeoutMs: 300 });
  const sock = await server.connection(1);
  let sent = 0;
  const feed = setInterval(() => sock.send(`{"n":${++sent}}`), 20);
  t.after(() => clearInterval(feed));
  // 150 frames at 20 ms: ten stall periods without any ping; the data alone keeps the connection.
  await waitFor('data over ten stall periods', () => rec.messages.length >= 150);
  assert.deepEqual(rec.downs, []);
  assert.equal(server.sockets.length, 1, 'never reconnected');
});

test('issue 9 kind 2 (keep-alive): a quiet but healthy connection is probed with pings and stays up', async (t) => {
  const server = await listen(t);
  const rec = recorder();
  connect(t, server.url, rec, { stallTimeoutMs: 300 });
  const sock = await server.connection(1);
  let probes = 0;
  sock.on('ping', () => probes++);
  // No data and no server pings: only the pongs to the client's own probes prove the path.
  await waitFor('ten probe pings answered', () => probes >= 10);
  assert.deepEqual(rec.downs, []);
  assert.equal(server.sockets.length, 1);
});

test('issue 9 kind 2 (keep-alive): a dead path (no data, no ping, probes unanswered) is declared stalled and reconnected', async (t) => {
  const server = await listen(t, { autoPong: false });
  const rec = recorder();
  connect(t, server.url, rec, { stallTimeoutMs: 300 });
  const sock = await server.connection(1);
  let probes = 0;
  sock.on('ping', () => probes++);
  await server.connection(2);
  assert.equal(rec.downs[0]!.reason, 'stall');
  assert.match(rec.downs[0]!.detail, /nothing received for 300 ms/);
  assert.ok(probes >= 1, 'the client probed before giving up');
});

test('issue 10 (stall detection): a loop blocked while frames waited in the socket is not a stall', async (t) => {
  // The exchange runs on its own thread, so it keeps writing while this thread is blocked.
  const exchange = new Worker(
    `const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))});
     const { parentPort } = require('node:worker_threads');
     const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => parentPort.postMessage(wss.address().port));
     wss.on('connection', (ws) => { let n = 0; setInterval(() => ws.send('{"n":' + ++n + '}'), 10); });`,
    { eval: true },
  );
  t.after(() => exchange.terminate());
  const port = await new Promise<number>((resolve) => exchange.once('message', resolve));
  const rec = recorder();
  connect(t, `ws://127.0.0.1:${port}/stream?streams=btcusdt@trade`, rec, { stallTimeoutMs: 300 });
  await waitFor('data flowing', () => rec.messages.length >= 10);
  // Block this thread's event loop for five stall periods, as a synchronous database call on the
  // main thread does. The frames sent meanwhile wait in the socket; the watchdog's timer is due first.
  const until = Date.now() + 1_500;
  while (Date.now() < until) {
    /* blocked on purpose */
  }
  const after = rec.messages.length + 50;
  await waitFor('data after the block', () => rec.messages.length >= after);
  assert.deepEqual(rec.downs, [], 'no stall was declared');
  assert.ok(rec.opens.length === 1, 'never reconnected');
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
  await waitFor('two failed attempts', () => rec.downs.length >= 2);
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
  await waitFor('open', () => conn.isOpen);
  await conn.close();
  assert.equal(conn.status().state, 'closed');
  assert.equal(rec.downs.length, 0, 'a wanted close is not a disconnect');
});

test('backoff: capped exponential with full jitter, reset on demand', () => {
  const top = new Backoff(100, 800, () => 0.999999);
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => top.next()),
    [99, 199, 399, 799, 799],
  );
  top.reset();
  assert.equal(top.next(), 99);
  const bottom = new Backoff(100, 800, () => 0);
  assert.equal(bottom.next(), 0);
});

test('attempt limiter: at most `limit` attempts per sliding window', () => {
  const limiter = new AttemptLimiter(3, 1_000);
  assert.deepEqual(
    [0, 1, 2].map((now) => limiter.take(now)),
    [0, 0, 0],
  );
  assert.equal(limiter.take(3), 997);
  assert.equal(limiter.take(1_000), 0);
  assert.equal(limiter.take(1_000), 1);
});
