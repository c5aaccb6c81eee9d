import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * What the proxy does to the next requests:
 * - `pass`: forwards everything to the upstream (kinesalite) unchanged;
 * - `throttle`: PutRecords requests reach kinesalite without every `every`-th record (counted over
 *   all records), and the answer marks those records ProvisionedThroughputExceededException —
 *   a partial failure exactly as Kinesis reports it, with the throttled records really not written;
 * - `status`: answers every request with this HTTP status and a Kinesis error body, forwarding nothing;
 * - `refuse`: resets every connection as it opens (the endpoint is down).
 */
export type ProxyMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'throttle'; readonly every: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'refuse' };

export interface FaultProxy {
  /** http://127.0.0.1:<port>: the endpoint to give the sink. */
  readonly endpoint: string;
  setMode(mode: ProxyMode): void;
  /** Records answered as throttled, requests failed by status or refused, PutRecords forwarded. */
  readonly stats: { throttledRecords: number; failedRequests: number; refusedConnections: number; forwardedPuts: number };
}

/** A network fault injector in front of a real Kinesis endpoint (not a mock: kinesalite does the work). */
export async function startFaultProxy(t: TestContext, upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let mode: ProxyMode = { kind: 'pass' };
  let recordCounter = 0;
  const stats = { throttledRecords: 0, failedRequests: 0, refusedConnections: 0, forwardedPuts: 0 };
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  const reply = (res: ServerResponse, status: number, headers: IncomingMessage['headers'], body: Buffer): void => {
    const { 'content-length': _length, 'transfer-encoding': _te, ...rest } = headers;
    res.writeHead(status, { ...rest, 'content-length': String(body.length) });
    res.end(body);
  };

  /** Forwards the records that are not throttled and answers with kinesalite's results merged in. */
  const throttledPut = async (req: IncomingMessage, body: Buffer, every: number, res: ServerResponse): Promise<void> => {
    const request = JSON.parse(body.toString('utf8')) as { Records: unknown[] } & Record<string, unknown>;
    const throttled = request.Records.map(() => ++recordCounter % every === 0);
    const kept = request.Records.filter((_, i) => !throttled[i]);
    let upstreamResults: unknown[] = [];
    let headers: IncomingMessage['headers'] = { 'content-type': 'application/x-amz-json-1.1' };
    if (kept.length > 0) {
      const answer = await forward(req, Buffer.from(JSON.stringify({ ...request, Records: kept })));
      stats.forwardedPuts++;
      if (answer.status !== 200) return reply(res, answer.status, answer.headers, answer.body);
      upstreamResults = (JSON.parse(answer.body.toString('utf8')) as { Records: unknown[] }).Records;
      headers = answer.headers;
    }
    let next = 0;
    const records = throttled.map((isThrottled) => {
      if (!isThrottled) return upstreamResults[next++];
      stats.throttledRecords++;
      return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (fault proxy)' };
    });
    const failed = records.filter((r) => (r as { ErrorCode?: string }).ErrorCode !== undefined).length;
    reply(res, 200, headers, Buffer.from(JSON.stringify({ FailedRecordCount: failed, Records: records })));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isPut = String(req.headers['x-amz-target'] ?? '').endsWith('.PutRecords');
      const current = mode;
      const handle = async (): Promise<void> => {
        if (current.kind === 'status') {
          stats.failedRequests++;
          return reply(
            res,
            current.status,
            { 'content-type': 'application/x-amz-json-1.1' },
            Buffer.from(JSON.stringify({ __type: 'ServiceUnavailableException', message: 'fault proxy' })),
          );
        }
        if (current.kind === 'throttle' && isPut) return throttledPut(req, body, current.every, res);
        const answer = await forward(req, body);
        if (isPut) stats.forwardedPuts++;
        reply(res, answer.status, answer.headers, answer.body);
      };
      handle().catch(() => res.destroy());
    });
  });
  server.on('connection', (socket: Socket) => {
    if (mode.kind === 'refuse') {
      stats.refusedConnections++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    setMode(next) {
      mode = next;
      // Kept-alive connections would dodge a refusal: an outage cuts them too.
      if (next.kind === 'refuse') for (const s of sockets) s.destroy();
    },
  };
}
