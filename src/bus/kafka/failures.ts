import type { Config } from '../../config/schema.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import { certificateAdvice } from '../../core/pem.js';

type Node = { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };

/** Every error in an @platformatic/kafka error tree (MultipleErrors hold `errors`, wrappers a `cause`). */
function* walk(err: unknown, depth = 0): Generator<Node> {
  if (err === null || typeof err !== 'object' || depth > 8) return;
  const node = err as Node;
  yield node;
  if (Array.isArray(node.errors)) for (const e of node.errors) yield* walk(e, depth + 1);
  yield* walk(node.cause, depth + 1);
}

function find(err: unknown, test: (node: Node) => boolean): Node | undefined {
  for (const node of walk(err)) if (test(node)) return node;
  return undefined;
}

/** True when the broker refused the SASL credentials somewhere in this error: retrying cannot help. */
export function isAuthenticationFailure(err: unknown): boolean {
  return find(err, (n) => n.code === 'PLT_KFK_AUTHENTICATION') !== undefined;
}

/**
 * Network trouble and broker-side retriable errors (leader moving, not enough replicas) are
 * worth waiting out; a record the broker rejects as such (too large, unknown topic after the
 * library's own metadata refresh, authorization, authentication) is not.
 */
export function kafkaCanRetry(err: unknown): boolean {
  // A refused password stays refused: the library reports it as a (retriable) network error.
  if (isAuthenticationFailure(err)) return false;
  const e = err as { code?: string; canRetry?: boolean; errors?: unknown[] };
  if (e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT') return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(kafkaCanRetry);
  return e.canRetry === true;
}

/**
 * Turns a failure to reach Kafka into an error that says which setting to change: refused
 * credentials (TF_BUS_AUTH), an untrusted or misnamed certificate (TF_BUS_TLS), neither retriable;
 * anything else is TF_BUS_UNAVAILABLE (retriable), with a hint when a plaintext client seems to
 * talk to a TLS listener. The message names the setting, never a secret.
 */
export function explainKafkaFailure(err: unknown, bus: Pick<Config['bus'], 'brokers' | 'sasl' | 'tls'>, doing: string): TickflowError {
  if (err instanceof TickflowError) return err;
  const where = `Kafka at ${bus.brokers.join(',')}`;
  if (isAuthenticationFailure(err)) {
    const how = bus.sasl.mechanism === 'none' ? 'bus.sasl.mechanism is none' : `user "${bus.sasl.username}", ${bus.sasl.mechanism}`;
    return new TickflowError(
      ErrorCodes.BUS_AUTH,
      `${where} refused the SASL credentials (${how}) while ${doing}: check bus.sasl.username, bus.sasl.password ` +
        '(TICKFLOW_BUS_SASL_PASSWORD_FILE) and bus.sasl.mechanism',
      { cause: err, canRetry: false },
    );
  }
  for (const node of walk(err)) {
    const advice =
      typeof node.code === 'string'
        ? certificateAdvice(node.code, 'bus.tls', 'set bus.tls.serverName to a name the certificate carries, or use that name in bus.brokers')
        : undefined;
    if (advice) return new TickflowError(ErrorCodes.BUS_TLS, `TLS to ${where} failed while ${doing}: ${advice}`, { cause: err, canRetry: false });
  }
  // A TLS listener drops a plaintext hello, and a SASL listener drops a request sent before
  // authenticating: both look like the broker hanging up.
  const closedEarly = find(err, (n) => typeof n.message === 'string' && /Connection closed/.test(n.message));
  const missing = [
    ...(bus.tls.enabled ? [] : ['bus.tls.enabled=true (SSL or SASL_SSL listener)']),
    ...(bus.sasl.mechanism === 'none' ? ['bus.sasl.* (SASL_PLAINTEXT or SASL_SSL listener)'] : []),
  ];
  const hint = closedEarly && missing.length > 0 ? ` — the broker closed the connection before answering; if it expects it, set ${missing.join(' or ')}` : '';
  return new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `${where} is unreachable while ${doing}: ${deepestMessage(err)}${hint}`, {
    cause: err,
    canRetry: true,
  });
}

/** The innermost message says what happened ("ECONNREFUSED"); the outer ones only that it failed. */
function deepestMessage(err: unknown): string {
  let last = errorMessage(err);
  for (const node of walk(err)) if (typeof node.message === 'string' && node.message !== '') last = node.message;
  return last;
}
