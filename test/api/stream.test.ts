import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { LiveMessage } from '../../src/api/contract.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { waitFor } from '../support/wait.js';
import { openTestDatabase, testApp, trade, type TestApp } from './helpers.js';

const T0 = Date.parse('2024-08-09T00:00:00Z');
// The stream reads no tables; one database serves every test of this file.
const database = openTestDatabase();

/** Parses an SSE byte stream into events (only the fields tickflow sends). */
class SseReader {
  private text = '';
  readonly events: { event: string; data: string }[] = [];

  feed(chunk: Buffer): void {
    this.text += chunk.toString('utf8');
    for (let end = this.text.indexOf('\n\n'); end >= 0; end = this.text.indexOf('\n\n')) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.events.push({ event, data: data.join('\n') });
    }
  }

  messages(): LiveMessage[] {
    return this.events.filter((e) => e.event === 'message').flatMap((e) => JSON.parse(e.data) as LiveMessage[]);
  }
}

async function listening(t: TestContext, config: ConfigInput = {}): Promise<TestApp & { port: number }> {
  const parts = testApp(t, await database, { config });
  await parts.app.listen({ host: '127.0.0.1', port: 0 });
  const address = parts.app.server.address();
  assert.ok(address && typeof address === 'object');
  return { ...parts, port: address.port };
}

/** A raw HTTP/1.1 GET whose body is only read when `read` is called. */
function rawGet(t: TestContext, port: number, path: string): Promise<{ socket: Socket; head: string; reader: SseReader; read: () => void }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    t.after(() => socket.destroy());
    const reader = new SseReader();
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      socket.pause();
      const head = buffered.subarray(0, end).toString();
      const rest = dechunker();
      rest.push(buffered.subarray(end + 4), reader);
      resolve({ socket, head, reader, read: () => socket.on('data', (c: Buffer) => rest.push(c, reader)).resume() });
    };
    socket.on('data', onHead);
  });
}

/** Undoes HTTP chunked transfer encoding, incrementally. */
function dechunker() {
  let pending = Buffer.alloc(0);
  return {
    push(chunk: Buffer, reader: SseReader) {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const lineEnd = pending.indexOf('\r\n');
        if (lineEnd < 0) return;
        const size = parseInt(pending.subarray(0, lineEnd).toString(), 16);
        if (pending.length < lineEnd + 2 + size + 2) return;
        reader.feed(pending.subarray(lineEnd + 2, lineEnd + 2 + size));
        pending = pending.subarray(lineEnd + 2 + size + 2);
      }
    },
  };
}

test('/api/stream sends hello, then batches of the subscribed symbols only', async (t) => {
  const { port, live } = await listening(t);
  const client = await rawGet(t, port, '/api/stream?symbols=btcusdt&intervals=1m');
  assert.match(client.head, /^HTTP\/1\.1 200/);
  assert.match(client.head, /content-type: text\/event-stream/i);
  client.read();
  await waitFor('hello', () => client.reader.events.some((e) => e.event === 'hello'));
  const hello = JSON.parse(client.reader.events[0]?.data ?? '{}');
  assert.deepEqual(hello.symbols, ['BTCUSDT']);
  assert.equal(typeof hello.id, 'string');

  live.publish(trade('ETHUSDT', 1, '2500', '1', T0));
  live.publish(trade('BTCUSDT', 10, '60000.5', '0.25', T0 + 1));
  await waitFor('the trade', () => client.reader.messages().some((m) => m.type === 'trade'));
  const ms = client.reader.messages();
  assert.deepEqual(
    ms.map((m) => [m.type, 'symbol' in m ? m.symbol : '']),
    [
      ['trade', 'BTCUSDT'],
      ['candle', 'BTCUSDT'],
    ],
  );
});

test('/api/stream rejects unknown symbols and bad intervals before streaming', async (t) => {
  const { app } = testApp(t, await database);
  const unknown = await app.inject('/api/stream?symbols=BTCUSDT,NOPEUSDT');
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().message, /NOPEUSDT/);
  const badInterval = await app.inject('/api/stream?symbols=BTCUSDT&intervals=1m,7m');
  assert.equal(badInterval.statusCode, 400);
  assert.match(badInterval.json().message, /intervals\.1: expected one of 1m, 5m, 15m, 1h/);
});

test('a client that stops reading costs bounded memory; when it reads again it gets the newest data and a dropped count', async (t) => {
  const { port, live, app } = await listening(t);
  const responses: ServerResponse[] = [];
  app.server.on('request', (_req: IncomingMessage, res: ServerResponse) => responses.push(res));
  const client = await rawGet(t, port, '/api/stream?symbols=BTCUSDT&intervals=1m');
  const published = 200_000;
  let maxBuffered = 0;
  let maxSocketBytes = 0;
  for (let i = 1; i <= published; i++) {
    live.publish(trade('BTCUSDT', i, `${60_000 + (i % 500)}.25`, '0.00100000', T0 + i));
    if (i % 1_000 === 0) {
      await tick(); // lets the stream writer run, as the event loop would between bus batches
      maxBuffered = Math.max(maxBuffered, live.stats().buffered);
      maxSocketBytes = Math.max(maxSocketBytes, ...responses.map((r) => r.writableLength));
    }
  }
  // 500 trades + this window's candle + the previous one: the default buffer limits.
  assert.ok(maxBuffered <= 502, `buffered ${maxBuffered}`);
  // What the kernel did not take stays in the response: at most the one batch in flight (~100 KB).
  assert.ok(maxSocketBytes > 0 && maxSocketBytes < 256 * 1024, `socket buffer ${maxSocketBytes} bytes`);

  client.read();
  await waitFor('the newest trade', () => client.reader.messages().some((m) => m.type === 'trade' && m.id === published));
  const ms = client.reader.messages();
  const delivered = ms.filter((m) => m.type === 'trade').length;
  const dropped = ms.reduce((sum, m) => sum + (m.type === 'dropped' ? m.trades : 0), 0);
  assert.ok(dropped > 0, 'the slow client was told trades were dropped');
  assert.equal(delivered + dropped, published, 'every trade was delivered or counted');
  const lastCandle = ms.filter((m) => m.type === 'candle').at(-1);
  assert.equal(lastCandle?.type === 'candle' && lastCandle.tradeCount, published - Math.floor((T0 + published) / 60_000) * 60_000 + T0 + 1);
});

test('closing the app ends open streams', async (t) => {
  const { port, app, live } = await listening(t);
  const client = await rawGet(t, port, '/api/stream?symbols=BTCUSDT');
  client.read();
  await waitFor('subscribed', () => live.stats().subscribers === 1);
  const ended = new Promise((resolve) => client.socket.once('end', resolve));
  await app.close();
  await ended;
  assert.equal(live.stats().subscribers, 0);
});

test('with api.token set, the stream takes the token as access_token (EventSource cannot send headers)', async (t) => {
  const { port } = await listening(t, { api: { token: 's3cret' } });
  const refused = await rawGet(t, port, '/api/stream?symbols=BTCUSDT&access_token=wrong');
  assert.match(refused.head, /^HTTP\/1\.1 401/);
  const accepted = await rawGet(t, port, '/api/stream?symbols=BTCUSDT&access_token=s3cret');
  assert.match(accepted.head, /^HTTP\/1\.1 200/);
});
