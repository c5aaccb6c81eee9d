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
 * Faults of one connection that the next attempt, on a new connection or once the broker is back,
 * gets past: the network, a request timeout, and a response the library's wire reader ran off the
 * end of (OUT_OF_BOUNDS, from @platformatic/dynamic-buffer, without a `canRetry`). A broker in
 * controlled shutdown answers a produce with NOT_LEADER_OR_FOLLOWER and, from Produce v10, a
 * CurrentLeader tagged field that the library's reader (1.35) misreads; taken as final, the batch
 * was failed and the ingest role lost it (docs/testing.md, "Broker restart under load"). The
 * publisher now sends v7–v9 (batch-sender.ts); any other response the reader cannot finish is
 * still a reason to try again, not to drop records. A retried produce is safe: the idempotent
 * producer's sequence numbers make the broker keep a batch once.
 */
const CONNECTION_FAULTS: ReadonlySet<unknown> = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT', 'OUT_OF_BOUNDS']);

/**
 * Network trouble and broker-side retriable errors (leader moving, not enough replicas) are
 * worth waiting out; a record the broker rejects as such (too large, unknown topic after the
 * library's own metadata refresh, authorization, authentication) is not. An error tree (the
 * library's MultipleErrors) is retriable when every error in it is.
 */
export function kafkaCanRetry(err: unknown): boolean {
  // A refused password stays refused: the library reports it as a (retriable) network error.
  if (isAuthenticationFailure(err)) return false;
  const e = err as { code?: string; canRetry?: boolean; errors?: unknown[] };
  if (CONNECTION_FAULTS.has(e.code)) return true;
  if (Array.isArray(e.errors) && e.errors.length > 0) return e.errors.every(kafkaCanRetry);
  return e.canRetry === true;
}

/**
 * The distinct innermost errors of a failure as `code: message` joined by "; " (the outer ones
 * only say that something failed), for the log line that says why a retry cannot help.
 */
export function kafkaFailureCauses(err: unknown): string {
  const causes = new Set<string>();
  for (const node of walk(err)) {
    const leaf = !(Array.isArray(node.errors) && node.errors.length > 0) && (node.cause === null || typeof node.cause !== 'object');
    if (leaf) causes.add(`${typeof node.code === 'string' ? node.code : 'no code'}: ${typeof node.message === 'string' ? node.message : String(node)}`);
  }
  return [...causes].join('; ');
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
