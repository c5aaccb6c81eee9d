import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type { Config } from '../config/schema.js';
import { ErrorCodes, errorMessage, TickflowError } from '../core/errors.js';
import { redactSecrets } from '../ops/redact.js';
import type { Notification } from './notification.js';
import type { Notifier, NotifierDeps } from './notifier.js';

/** SMTP reply codes that say "try again later" (RFC 5321 §4.2.1: 4yz are transient). */
const isTransient = (err: unknown): boolean => {
  const code = (err as { responseCode?: number }).responseCode;
  return code === undefined || (code >= 400 && code < 500);
};

/**
 * E-mail over SMTP with nodemailer: `starttls` upgrades a plain connection and refuses to go on
 * without TLS (requireTLS), `tls` speaks TLS from the first byte, `none` is plain (a local relay).
 * AUTH when a username is set. Text and HTML bodies; the idempotency key goes in a header
 * (X-Tickflow-Idempotency-Key) and, for receivers that deduplicate on it, in the Message-ID.
 */
export function createSmtpNotifier(config: Config['alerts']['smtp'], _deps: NotifierDeps): Notifier {
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.security === 'tls',
    requireTLS: config.security === 'starttls',
    ignoreTLS: config.security === 'none',
    ...(config.username ? { auth: { user: config.username, pass: config.password } } : {}),
    ...(config.ca ? { tls: { ca: readFileSync(config.ca, 'utf8') } } : {}),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
  });
  return {
    kind: 'smtp',
    async send(n: Notification) {
      try {
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: n.subject,
          text: n.text,
          html: n.html,
          messageId: `<${n.key}@tickflow>`,
          headers: { 'X-Tickflow-Idempotency-Key': n.key },
        });
      } catch (err) {
        throw new TickflowError(ErrorCodes.NOTIFY_FAILED, `SMTP ${config.host}:${config.port} did not take the alert: ${redactSecrets(errorMessage(err))}`, {
          cause: err,
          canRetry: isTransient(err),
        });
      }
    },
    close: async () => transport.close(),
  };
}
