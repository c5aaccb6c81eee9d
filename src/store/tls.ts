import type { ConnectionOptions } from 'node:tls';
import type { Config } from '../config/schema.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { readPem } from '../core/pem.js';

/** The `sslmode` values tickflow honours, with libpq's meanings (PostgreSQL manual, "SSL Support"). */
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
/** libpq's sslmode values tickflow supports in store.url. */
export type SslMode = (typeof SSL_MODES)[number];

/** URL parameters that name TLS settings; tickflow applies them itself (see postgresConnection). */
const SSL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;

/** store.url resolved for node-postgres: the URL without ssl* parameters, the sslmode, the TLS options. */
export interface PostgresConnection {
  /** store.url without the ssl* parameters. */
  readonly connectionString: string;
  readonly sslmode: SslMode;
  /** node-postgres' `ssl` option: false, or the options of the TLS socket. */
  readonly ssl: false | ConnectionOptions;
}

/**
 * Reads `sslmode` (and libpq's `sslrootcert`, `sslcert`, `sslkey`) from store.url and merges
 * store.tls (which wins) into node-postgres' `ssl` option:
 * - `disable` (also when sslmode is absent): no TLS;
 * - `require`: TLS without checking the certificate — unless a CA is given, then as `verify-ca`
 *   (libpq does the same when a root certificate is present);
 * - `verify-ca`: the certificate must be signed by the CA (store.tls.ca, else the system's CAs);
 * - `verify-full`: also the host in store.url must be a name the certificate carries.
 *
 * The ssl* parameters are removed from the URL: node-postgres would otherwise apply its own
 * reading of them on top (it treats `require` as `verify-full`).
 * @throws TickflowError TF_CONFIG_INVALID for another sslmode or an unreadable PEM file, naming the setting.
 */
export function postgresConnection(url: string, tls: Config['store']['tls']): PostgresConnection {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  const mode = params.get('sslmode') ?? 'disable';
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for store.url: sslmode=${mode} — one of ${SSL_MODES.join(', ')} ` +
        '(allow and prefer fall back to an unencrypted connection silently, which tickflow does not do)',
    );
  }
  const files = {
    ca: pemSetting('store.tls.ca', tls.ca, 'sslrootcert', params),
    cert: pemSetting('store.tls.cert', tls.cert, 'sslcert', params),
    key: pemSetting('store.tls.key', tls.key, 'sslkey', params),
  };
  for (const p of SSL_PARAMS) params.delete(p);
  const connectionString = parsed.toString();
  const sslmode = mode as SslMode;
  if (sslmode === 'disable') {
    if (files.ca || files.cert) {
      throw new TickflowError(
        ErrorCodes.CONFIG_INVALID,
        'store.tls.ca or store.tls.cert is set but store.url has no sslmode (or sslmode=disable); add ?sslmode=verify-full to store.url',
      );
    }
    return { connectionString, sslmode, ssl: false };
  }
  const ssl: ConnectionOptions = {};
  if (files.ca) ssl.ca = readPem(files.ca.setting, files.ca.file);
  if (files.cert) ssl.cert = readPem(files.cert.setting, files.cert.file);
  if (files.key) ssl.key = readPem(files.key.setting, files.key.file);
  const verify = sslmode === 'verify-full' || sslmode === 'verify-ca' || files.ca !== undefined;
  ssl.rejectUnauthorized = verify;
  // Node checks the host name unless told not to; verify-ca checks the chain only.
  if (sslmode !== 'verify-full') ssl.checkServerIdentity = () => undefined;
  return { connectionString, sslmode, ssl };
}

/** A PEM file named by store.tls.<x>, else by the URL parameter; which one is kept for error messages. */
function pemSetting(setting: string, configured: string, param: string, params: URLSearchParams): { setting: string; file: string } | undefined {
  if (configured) return { setting, file: configured };
  const fromUrl = params.get(param);
  return fromUrl ? { setting: `${param} in store.url`, file: fromUrl } : undefined;
}
