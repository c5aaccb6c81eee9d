import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { encodeTextFrames } from '../../src/simulator/frames.js';

test('frames written together reach a ws client as one text message each (7-, 16- and 64-bit lengths, UTF-8)', async (t) => {
  const texts = ['', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(65_535), 'w'.repeat(65_536), '{"s":"BTCUSDT","note":"€ ✓"}'];
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.after(() => server.close());
  // As the simulator does: the encoded frames go straight to the upgraded socket, in two writes
  // split inside a frame.
  server.on('connection', (_ws, req) => {
    const bytes = encodeTextFrames(texts);
    req.socket.write(bytes.subarray(0, 1_001));
    req.socket.write(bytes.subarray(1_001));
  });
  await new Promise((resolve) => server.once('listening', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(() => client.terminate());
  const got: string[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on('message', (data, isBinary) => {
      assert.equal(isBinary, false);
      got.push(String(data));
      if (got.length === texts.length) resolve();
    });
    client.on('error', reject);
  });
  assert.deepEqual(got, texts);
});
