import { ErrorCodes, type ErrorCode, TickflowError } from '../core/errors.js';
import { redactSecrets } from '../ops/redact.js';
import type { RoleContext } from '../pipeline/context.js';

/**
 * The exit codes of `tickflow` (README "Exit codes"): 0 done or shut down cleanly; 1 a failure at
 * run time, a shutdown step that failed or hung, or an unexpected error; 2 the configuration has to
 * change (a bad or unknown key, a port that is taken, a data dir in use); 130 a second Ctrl-C.
 */
export const EXIT_FAILURE = 1;
/** Exit code 2: the configuration has to change (see above). */
export const EXIT_CONFIG = 2;

/**
 * Errors a user fixes by changing the configuration (a data dir another tickflow owns: another
 * --data-dir); every other code is a failure (exit 1).
 */
const CONFIG_ERRORS: ReadonlySet<ErrorCode> = new Set([ErrorCodes.CONFIG_INVALID, ErrorCodes.CONFIG_UNKNOWN_KEY, ErrorCodes.DATA_DIR_IN_USE]);

/**
 * The process exit code for an error: EXIT_CONFIG (2) for TF_CONFIG_INVALID, TF_CONFIG_UNKNOWN_KEY and
 * TF_DATA_DIR_IN_USE (the user changes the configuration), EXIT_FAILURE (1) for anything else.
 */
export function exitCodeFor(err: unknown): number {
  return err instanceof TickflowError && CONFIG_ERRORS.has(err.code) ? EXIT_CONFIG : EXIT_FAILURE;
}

/**
 * Says on stderr why the command stops: `tickflow: <code>: <message>` for tickflow's own errors,
 * which are the user's to act on, and the stack only for unexpected ones (a bug to report). Secrets
 * are redacted: a message may quote a connection string.
 */
export function reportError(err: unknown): void {
  const text = err instanceof TickflowError ? `${err.code}: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`tickflow: ${redactSecrets(text)}\n`);
}

/**
 * Starts a role. When start-up fails, says why and runs the shutdown steps registered so far, so
 * that nothing it opened keeps running (a database, a simulator, a pipeline without its API);
 * then exits with exitCodeFor(err).
 */
export async function startOrStop<T>(ctx: RoleContext, start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    reportError(err);
    await ctx.shutdown.shutdown('start-up failed', exitCodeFor(err));
    return undefined;
  }
}
