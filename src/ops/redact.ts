/**
 * Secrets out of logs, error messages and /health output. Everyone who logs or shows a URL (database
 * URLs, broker URLs, webhook URLs) passes it through here first.
 */

export const REDACTED = '***';

// RFC 3986: the userinfo ends at the last "@" of the authority, and the authority ends at the first
// "/", "?" or "#". Matching up to that "@" keeps a raw "@" inside a password from leaking its tail.
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)[^\s/?#]*@/gi;
// libpq and many client libraries also accept credentials as query parameters.
const QUERY_SECRET = /([?&](?:password|passwd|pass|pwd|token|access_token|api_key|apikey|secret|sslpassword)=)[^&\s#]*/gi;

/** `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/** Redacts the credentials of every URL inside free text (an error message quoting a connection string). */
export function redactSecrets(text: string): string {
  if (!text.includes('://') && !text.includes('=')) return text;
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`).replace(QUERY_SECRET, `$1${REDACTED}`);
}
