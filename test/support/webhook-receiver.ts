import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface ReceivedHook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The X-Tickflow-Signature header matched HMAC-SHA256(secret, body). */
  readonly signed: boolean;
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every request, answered or refused, in arrival order. */
  readonly requests: ReceivedHook[];
  /** Accepted (2xx) requests' JSON bodies. */
  accepted(): {
    key: string;
    rule: string;
    state: string;
    subject: string;
    alerts: { message: string; instrument: { symbol: string } | null; value: number | null; threshold: number }[];
  }[];
  /** Answer the next `n` requests with `status` (e.g. 503) before accepting again. */
  failNext(n: number, status: number): void;
}

/**
 * A real HTTP receiver of alert webhooks, as a user would write one: it checks the signature with
 * the shared secret (constant-time) and refuses a request whose signature does not match (401).
 */
export async function startWebhookReceiver(t: TestContext, secret: string): Promise<WebhookReceiver> {
  const requests: ReceivedHook[] = [];
  let failing = 0;
  let failStatus = 503;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-tickflow-signature'] ?? ''));
      const signed = got.length === expected.length && timingSafeEqual(got, expected);
      const status = !signed ? 401 : failing > 0 ? failStatus : 204;
      if (signed && failing > 0) failing -= 1;
      requests.push({ headers: req.headers, body, signed, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // After-hooks run in registration order, so a pipeline that is still sending (the test failed
  // midway) would hold a keep-alive connection open and close() would wait on it for ever.
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/tickflow`,
    requests,
    accepted: () => requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body)),
    failNext(n, status) {
      failing = n;
      failStatus = status;
    },
  };
}
