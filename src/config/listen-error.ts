import { ErrorCodes, TickflowError, errorMessage } from '../core/errors.js';
import { envName } from './load.js';

/** Why binding failed, in words a user can act on, by the errno Node reports. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the port is already in use (another tickflow, or another server)',
  EACCES: 'this user may not listen there (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'no network interface of this machine has that address',
};

/**
 * The error for a server that could not listen on the address its configuration names. A taken
 * port is fixed by choosing another one, so it is a configuration error (TF_CONFIG_INVALID, exit
 * 2) that names the key to change, with its `--set` form and environment variable.
 *
 * @param what the server, e.g. "the HTTP API and dashboard"
 * @param key the configuration key holding the port, e.g. `api.port`
 */
export function listenError(what: string, key: string, address: { host: string; port: number }, err: unknown): TickflowError {
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = errno !== undefined ? REASONS[errno] : undefined;
  const reason = known !== undefined ? `${known} (${errno})` : errorMessage(err);
  return new TickflowError(
    ErrorCodes.CONFIG_INVALID,
    `${what} cannot listen on ${address.host}:${address.port}: ${reason}. ` +
      `Set ${key} to a free port (--set ${key}=<port> or ${envName(key)}=<port>; 0 picks any free port), or stop the process that holds it`,
    { cause: err },
  );
}
