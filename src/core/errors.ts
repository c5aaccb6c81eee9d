/** Stable error codes; each has one documented meaning (README, "Errors"). */
export const ErrorCodes = {
  CONFIG_INVALID: 'TF_CONFIG_INVALID',
  CONFIG_UNKNOWN_KEY: 'TF_CONFIG_UNKNOWN_KEY',
  SOURCE_UNREACHABLE: 'TF_SOURCE_UNREACHABLE',
  SOURCE_PROTOCOL: 'TF_SOURCE_PROTOCOL',
  BUS_UNAVAILABLE: 'TF_BUS_UNAVAILABLE',
  BUS_AUTH: 'TF_BUS_AUTH',
  BUS_TLS: 'TF_BUS_TLS',
  BUS_TOPIC_MISMATCH: 'TF_BUS_TOPIC_MISMATCH',
  STORE_UNAVAILABLE: 'TF_STORE_UNAVAILABLE',
  STORE_WRITE: 'TF_STORE_WRITE',
  STORE_TLS: 'TF_STORE_TLS',
  STORE_AUTH: 'TF_STORE_AUTH',
  REST_RATE_LIMITED: 'TF_REST_RATE_LIMITED',
  REST_BANNED: 'TF_REST_BANNED',
  REST_REJECTED: 'TF_REST_REJECTED',
  REST_UNAVAILABLE: 'TF_REST_UNAVAILABLE',
  IMPORT_REJECTED: 'TF_IMPORT_REJECTED',
  STORE_DAMAGED: 'TF_STORE_DAMAGED',
  DATA_DIR_IN_USE: 'TF_DATA_DIR_IN_USE',
  NOTIFY_FAILED: 'TF_NOTIFY_FAILED',
  DECODE: 'TF_DECODE',
  SINK_UNAVAILABLE: 'TF_SINK_UNAVAILABLE',
  SINK_REJECTED: 'TF_SINK_REJECTED',
  SHUTDOWN: 'TF_SHUTDOWN',
  /** A running exchange simulator refused a control request (an unknown fault, a bad parameter). */
  SIMULATOR_REFUSED: 'TF_SIMULATOR_REFUSED',
} as const;

/** One of the TF_* codes of ErrorCodes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * tickflow's own error: a stable `code` from ErrorCodes (README "Errors"), a message a user can act on,
 * the `cause` it wraps, and `canRetry` — whether the same operation can succeed later (an unreachable
 * broker: yes; a refused login or a bad config value: no), which the retry policy reads (core/retry.ts).
 */
export class TickflowError extends Error {
  readonly code: ErrorCode;
  /** Whether trying the same operation again (after backoff) can succeed. */
  readonly canRetry: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; canRetry?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TickflowError';
    this.code = code;
    this.canRetry = options.canRetry ?? false;
  }
}

/** The message of an Error, else the value as a string: for logs and reasons, never a stack. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
