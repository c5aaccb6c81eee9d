import { type ErrorCode, ErrorCodes, TickflowError, errorMessage } from '../core/errors.js';
import { certificateAdvice } from '../core/pem.js';

/**
 * A database failure with its SQLSTATE (when the server sent one). `canRetry` says whether the
 * same statement can succeed later (the server is down or restarting, a lock conflict), and
 * `rejectsData` whether the server refused a value in the statement, which retrying never fixes
 * but isolating the offending row does.
 */
export class StoreError extends TickflowError {
  readonly sqlState: string | undefined;
  readonly rejectsData: boolean;

  constructor(message: string, options: { cause?: unknown; canRetry: boolean; sqlState?: string; rejectsData?: boolean; code?: ErrorCode }) {
    super(options.code ?? (options.canRetry ? ErrorCodes.STORE_UNAVAILABLE : ErrorCodes.STORE_WRITE), message, options);
    this.name = 'StoreError';
    this.sqlState = options.sqlState;
    this.rejectsData = options.rejectsData ?? false;
  }
}

// Socket-level failures from node-postgres / Node's net module: the server is not there (yet).
const RETRYABLE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const RETRYABLE_MESSAGES =
  /connection terminated|connection timeout|timeout exceeded when trying to connect|server closed the connection|the database system is (starting up|shutting down)|Client has encountered a connection error/i;

/**
 * SQLSTATE classes (PostgreSQL manual, appendix A): 08 connection exception, 53 insufficient
 * resources, 57P admin shutdown / crash / cannot connect now, 40 serialization failure and deadlock.
 */
function retryableState(state: string): boolean {
  // 57014: a statement cancelled by an administrator (pg_cancel_backend) runs again fine.
  return state.startsWith('08') || state.startsWith('53') || state.startsWith('57P') || state.startsWith('40') || state === '55P03' || state === '57014';
}

/** 22 data exception (overflow, bad text representation, bad encoding), 23 constraint violation, 54000 value too large. */
function dataState(state: string): boolean {
  return state.startsWith('22') || state.startsWith('23') || state === '54000';
}

/** What to change when the server refuses the login (SQLSTATE class 28); the server's message says which rule. */
const LOGIN_ADVICE =
  ' — check the user and password in store.url (TICKFLOW_STORE_URL_FILE), and store.tls.cert/store.tls.key if the server wants a ' +
  'client certificate; "no encryption" means the server accepts only TLS: add ?sslmode=verify-full to store.url';

/**
 * Classifies a node-postgres failure as a StoreError whose message is `context: …`;
 * a StoreError is returned as it is. By what the error carries:
 * - TLS (an untrusted or expired certificate, a wrong host name, a server without TLS):
 *   TF_STORE_TLS naming the setting to change (store.tls.*, sslmode in store.url); canRetry false.
 * - SQLSTATE class 28 (login refused): TF_STORE_AUTH with what to check in store.url; canRetry false.
 * - Any other SQLSTATE (kept in `sqlState`): canRetry for 08, 53, 57P, 40, 55P03 and 57014 (then
 *   TF_STORE_UNAVAILABLE), else TF_STORE_WRITE; `rejectsData` for 22, 23 and 54000 (a value of the
 *   statement was refused: isolate the row, do not retry).
 * - No SQLSTATE: canRetry (TF_STORE_UNAVAILABLE) for a socket error (ECONNREFUSED, ECONNRESET,
 *   ETIMEDOUT, …) or a "connection terminated"/"starting up" message, else TF_STORE_WRITE.
 * Never throws.
 */
export function toStoreError(err: unknown, context: string): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = `${context}: ${errorMessage(err)}`;
  const tls =
    code === undefined
      ? undefined
      : certificateAdvice(code, 'store.tls', 'put a host name the certificate carries in store.url, or use sslmode=verify-ca to check the CA only');
  if (tls) return new StoreError(`${context}: TLS to PostgreSQL failed: ${tls}`, { cause: err, canRetry: false, code: ErrorCodes.STORE_TLS });
  if (/The server does not support SSL connections/.test(errorMessage(err))) {
    return new StoreError(`${context}: the PostgreSQL server does not offer TLS: set ssl = on on the server, or sslmode=disable in store.url`, {
      cause: err,
      canRetry: false,
      code: ErrorCodes.STORE_TLS,
    });
  }
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    if (code.startsWith('28')) return new StoreError(message + LOGIN_ADVICE, { cause: err, sqlState: code, canRetry: false, code: ErrorCodes.STORE_AUTH });
    return new StoreError(message, { cause: err, sqlState: code, canRetry: retryableState(code), rejectsData: dataState(code) });
  }
  const canRetry = (code !== undefined && RETRYABLE_NET_CODES.has(code)) || RETRYABLE_MESSAGES.test(errorMessage(err));
  return new StoreError(message, { cause: err, canRetry });
}

/**
 * What the operator does about an error retrying cannot fix (SQLSTATE class 42: a missing table,
 * a missing privilege, a changed column), for the log line and the health reason.
 */
export function remedyFor(err: StoreError): string {
  switch (err.sqlState) {
    case '42P01':
    case '42703':
      return 'The schema was changed under tickflow (a table or column is missing). Restore it from a backup, or start again on an empty database; then restart tickflow, whose start-up check names every missing table.';
    case '42501':
      return "The database user lacks a privilege on tickflow's tables: GRANT it (docs/storage.md lists what tickflow needs), then restart tickflow.";
    default:
      return 'Fix the cause named in the error, then restart tickflow. Rows not yet stored are redelivered from Kafka; with the in-process bus they are lost.';
  }
}
