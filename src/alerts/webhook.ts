import { createHmac } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { ErrorCodes, errorMessage, TickflowError } from '../core/errors.js';
import { retry } from '../core/retry.js';
import { redactUrl } from '../ops/redact.js';
import type { Notification } from './notification.js';
import type { Notifier, NotifierDeps } from './notifier.js';

/**
 * The header carrying `sha256=<hex>`, the HMAC-SHA256 of the body with alerts.webhook.secret
 * (signBody).
 */
export const SIGNATURE_HEADER = 'x-tickflow-signature';
/** The header carrying the notification key, the same on every attempt: a receiver drops repeats by it. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

/** `sha256=<hex>`: HMAC-SHA256 of the exact request body with the shared secret. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * A JSON POST per notification: `{ key, rule, state, subject, text, alerts: [...] }`, signed in
 * X-Tickflow-Signature (signBody) and carrying Idempotency-Key, the same on every attempt and after
 * a restart. Network errors, timeouts, 408, 429 and 5xx are retried with backoff (core/retry); any
 * other answer is final.
 */
export function createWebhookNotifier(config: Config['alerts']['webhook'], deps: NotifierDeps): Notifier {
  const target = redactUrl(config.url);
  const attempt = async (n: Notification, body: string): Promise<void> => {
    let res: Response;
    try {
      res = await fetch(config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [IDEMPOTENCY_HEADER]: n.key,
          ...(config.secret ? { [SIGNATURE_HEADER]: signBody(config.secret, body) } : {}),
        },
        body,
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (err) {
      throw new TickflowError(ErrorCodes.NOTIFY_FAILED, `webhook ${target} unreachable: ${errorMessage(err)}`, { cause: err, canRetry: true });
    }
    await res.body?.cancel();
    if (res.ok) return;
    const retriable = res.status === 408 || res.status === 429 || res.status >= 500;
    throw new TickflowError(ErrorCodes.NOTIFY_FAILED, `webhook ${target} answered ${res.status}`, { canRetry: retriable });
  };
  return {
    kind: 'webhook',
    async send(n) {
      const body = JSON.stringify({ key: n.key, rule: n.rule, state: n.state, subject: n.subject, text: n.text, alerts: n.alerts });
      await retry(() => attempt(n, body), {
        attempts: config.attempts,
        initialDelayMs: config.retryInitialMs,
        maxDelayMs: config.retryMaxMs,
        onRetry: (err, i, delay) =>
          deps.logger.warn({ component: 'alerts', notifier: 'webhook', attempt: i, delayMs: delay, err: err.message }, 'webhook failed; retrying'),
      });
    },
    close: async () => {},
  };
}
