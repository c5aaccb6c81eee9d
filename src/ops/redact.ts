/**
 * Secrets out of logs, error messages and /health output. Everyone who logs or shows a URL (database
 * URLs, broker URLs, webhook URLs) passes it through here first. Besides the patterns below, the
 * configuration registers its secret values (passwords, tokens, also those read from files), and
 * every occurrence of one of them is replaced wherever it turns up.
 */

export const REDACTED = '***';

// RFC 3986: the userinfo ends at the last "@" of the authority, and the authority ends at the first
// "/", "?" or "#". Matching up to that "@" keeps a raw "@" inside a password from leaking its tail.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#]*@/gi;
// libpq and many client libraries also accept credentials as query parameters.
const QUERY_SECRET = /([?&](?:password|passwd|pass|pwd|token|access_token|api_key|apikey|secret|sslpassword)=)[^&\s#]*/gi;

/**
 * Registered secret values, longest first so that a secret containing another is replaced whole.
 * Values shorter than MIN_SECRET_LENGTH are not registered: replacing "a" everywhere would garble
 * every message while protecting nothing (such a secret is guessable anyway).
 */
let secrets: string[] = [];
const MIN_SECRET_LENGTH = 4;

/** Makes `redactSecrets` replace every occurrence of `value` from now on (process-wide). */
export function registerSecret(value: string): void {
  if (value.length < MIN_SECRET_LENGTH || secrets.includes(value)) return;
  secrets = [...secrets, value].sort((a, b) => b.length - a.length);
}

/** `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/** Redacts the credentials of every URL inside free text (an error message quoting a connection string), and every registered secret. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  if (!out.includes('://') && !out.includes('=')) return out;
  return out.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(QUERY_SECRET, `$1${REDACTED}`);
}

/**
 * A copy of a configuration fit to print (`tickflow config`): the values of `secretKeys` (dotted
 * paths) replaced by `***` when set, and the credentials in every other string redacted. Without
 * keys, it redacts any plain data (the fields of a log line).
 */
export function redactConfig<T>(config: T, secretKeys: readonly string[] = []): T {
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return secretKeys.includes(path) && node !== '' ? REDACTED : redactSecrets(node);
    if (Array.isArray(node)) return node.map((v) => walk(v, path));
    // Only plain data: an Error or a Buffer keeps its identity for the serializers that know it.
    if (node !== null && typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return node;
  };
  return walk(config, '') as T;
}
