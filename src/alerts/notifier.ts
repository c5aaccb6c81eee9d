import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { Notification } from './notification.js';
import { createSmtpNotifier } from './smtp.js';
import { createWebhookNotifier } from './webhook.js';

/** The notifier kinds, one config section each (alerts.smtp, alerts.webhook). */
export type NotifierKind = 'smtp' | 'webhook';

/**
 * The notifier seam: delivers one notification. `send` resolves once the receiver accepted it
 * (SMTP 250, HTTP 2xx) and throws a TickflowError TF_NOTIFY_FAILED otherwise, with `canRetry`
 * saying whether the same send can succeed later. Sending the same notification twice is allowed
 * (after a crash): the receiver sees the same idempotency key.
 */
export interface Notifier {
  readonly kind: NotifierKind;
  send(notification: Notification): Promise<void>;
  close(): Promise<void>;
}

/** What a notifier factory takes besides its config section. */
export interface NotifierDeps {
  readonly logger: Logger;
}

/** The registry: one factory per kind, each taking its own config section (alerts.<kind>). */
export const NOTIFIERS: { readonly [K in NotifierKind]: (config: Config['alerts'][K], deps: NotifierDeps) => Notifier } = {
  smtp: createSmtpNotifier,
  webhook: createWebhookNotifier,
};

/** The enabled notifiers of the config, by kind. */
export function createNotifiers(config: Config['alerts'], deps: NotifierDeps): Partial<Record<NotifierKind, Notifier>> {
  const out: Partial<Record<NotifierKind, Notifier>> = {};
  if (config.smtp.enabled) out.smtp = NOTIFIERS.smtp(config.smtp, deps);
  if (config.webhook.enabled) out.webhook = NOTIFIERS.webhook(config.webhook, deps);
  return out;
}
