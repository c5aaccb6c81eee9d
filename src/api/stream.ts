import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { StreamHello } from './contract.js';
import type { LiveSubscription } from './live.js';

/** How /api/stream serves one client: the heartbeat interval (ms) and the `hello` event's body. */
export interface StreamOptions {
  /** A comment line this often keeps proxies and idle timeouts from closing a quiet stream. */
  readonly heartbeatMs: number;
  /** Sent in the `hello` event; a client that sees a new one reloads its state. */
  readonly hello: StreamHello;
}

/** How long EventSource waits before reconnecting (SSE `retry:` field). */
const RETRY_MS = 2_000;

/**
 * Serves one subscription as Server-Sent Events. Each `data:` line is a JSON array: everything
 * that was pending when the socket could take more. Only one batch is ever in flight — the next
 * is taken after the socket drains — so a slow client's backlog stays in its coalescing buffer,
 * which is bounded. Resolves when the stream ends.
 */
export async function serveStream(req: FastifyRequest, reply: FastifyReply, sub: LiveSubscription, options: StreamOptions): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Tells nginx not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  raw.write(`retry: ${RETRY_MS}\nevent: hello\ndata: ${JSON.stringify(options.hello)}\n\n`);

  let draining = false;
  const end = () => sub.close();
  req.raw.once('close', end);
  raw.once('close', end);
  raw.once('error', end);
  const heartbeat = setInterval(() => {
    if (!draining && !raw.writableEnded) raw.write(': ping\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();

  try {
    while (!sub.closed) {
      await sub.ready();
      if (sub.closed) break;
      // Let the rest of this tick's publishes land in the buffer, so they coalesce into one write.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = sub.take();
      if (batch.length === 0) continue;
      if (!raw.write(`data: ${JSON.stringify(batch)}\n\n`)) {
        draining = true;
        await drained(raw);
        draining = false;
      }
    }
  } finally {
    clearInterval(heartbeat);
    if (!raw.writableEnded) raw.end();
  }
}

function drained(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}
