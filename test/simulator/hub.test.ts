import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { EmittedTracker } from '../../src/simulator/emitted.js';
import { Hub } from '../../src/simulator/hub.js';
import { attachWebSocketServer } from '../../src/simulator/ws-server.js';
import { waitFor } from '../support/wait.js';

const RULES = { pingIntervalMs: 60_000, pongTimeoutMs: 60_000, lifetimeMs: 600_000, maxIncomingPerSecond: 100, maxBufferedBytes: 1 << 20 };

function trade(id: number) {
  return { stream: 'btcusdt@trade', data: JSON.stringify({ e: 'trade', s: 'BTCUSDT', t: id }), firstId: id, lastId: id };
}

test('emitted() reports the frames that left: not those a cut connection discarded in the same tick, and at once those flushAll() wrote', async (t) => {
  const emitted = new EmittedTracker();
  const hub = new Hub(emitted);
  const server = createServer();
  const wss = attachWebSocketServer(server, hub, RULES, 'spot');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    // Upgraded sockets are not the HTTP server's to close: cut them, or server.close() waits on them.
    hub.dropAll();
    hub.stop();
    wss.close();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/btcusdt@trade`;

  const open = async () => {
    const received: number[] = [];
    const ws = new WebSocket(url);
    ws.on('message', (data) => received.push((JSON.parse(String(data)) as { t: number }).t));
    t.after(() => ws.terminate());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor('the connection subscribed', () => hub.hasSubscribers('btcusdt@trade'));
    return received;
  };

  const first = await open();
  hub.publish(trade(1));
  await waitFor('trade 1 received', () => first.includes(1));
  // Queued for the end of this tick, then the connection is cut (the drop fault) before it leaves.
  hub.publish(trade(2));
  assert.equal(hub.dropAll(), 1);
  await waitFor('the cut connection gone', () => !hub.hasSubscribers('btcusdt@trade'));

  const second = await open();
  hub.publish(trade(3));
  await waitFor('trade 3 received', () => second.includes(3));
  assert.deepEqual([...first, ...second], [1, 3]);
  assert.deepEqual(emitted.report()['btcusdt@trade']?.ranges, [
    [1, 1],
    [3, 3],
  ]);

  // flushAll() writes what is queued at once: emitted() is up to date when it is read.
  hub.publish(trade(4));
  hub.flushAll();
  assert.deepEqual(emitted.report()['btcusdt@trade']?.ranges, [
    [1, 1],
    [3, 4],
  ]);
  await waitFor('trade 4 received', () => second.includes(4));
});
