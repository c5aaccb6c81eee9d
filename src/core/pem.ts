import { readFileSync } from 'node:fs';
import { ErrorCodes, TickflowError } from './errors.js';

/**
 * Reads a PEM file (CA, certificate or key) named by a setting such as `bus.tls.ca`.
 * @throws TickflowError TF_CONFIG_INVALID naming the setting and the file when it is unreadable or not PEM.
 */
export function readPem(setting: string, file: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, `cannot read ${setting} (${file}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      cause: err,
    });
  }
  if (!pem.includes('-----BEGIN ')) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, `${setting} (${file}) is not a PEM file (no "-----BEGIN" line)`);
  }
  return pem;
}

/**
 * Node's codes for a peer certificate that does not verify (chain, expiry, name), as found on a TLS
 * socket error; retrying never fixes one of these.
 */
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** TLS alerts from a server that refused our client certificate (or wanted one). */
const CLIENT_CERT_CODES = new Set([
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
]);

/**
 * What to change when TLS fails on a certificate (Node's error `code`): `prefix.ca` for an
 * untrusted server, the host name for a name mismatch, `prefix.cert`/`prefix.key` when the server
 * refused ours. Undefined for any other error.
 */
export function certificateAdvice(code: string, prefix: 'bus.tls' | 'store.tls', nameAdvice: string): string | undefined {
  if (CLIENT_CERT_CODES.has(code)) {
    return `the server refused the client certificate (${code}): set ${prefix}.cert and ${prefix}.key to a certificate signed by a CA the server trusts`;
  }
  if (!CERT_CODES.has(code)) return undefined;
  const caSetting = `${prefix}.ca`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server certificate is not for this host name: ${nameAdvice}`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `the server certificate is not valid now (${code}); renew it on the server`;
  return `the server certificate is not signed by a trusted CA (${code}): set ${caSetting} to the PEM file of the CA that signed it`;
}
