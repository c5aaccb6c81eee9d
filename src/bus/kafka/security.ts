import { isIP } from 'node:net';
import type { ConnectionOptions } from '@platformatic/kafka';
import type { Config } from '../../config/schema.js';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { readPem } from '../../core/pem.js';

/** What every Kafka client of tickflow (producer, consumers, admin, lag probe) connects with. */
export type KafkaSecurity = Pick<ConnectionOptions, 'tls' | 'tlsServerName' | 'sasl'>;

/**
 * Turns `bus.tls` and `bus.sasl` into @platformatic/kafka connection options. PEM files are read
 * here, once, so a wrong path is a start-up error naming the setting rather than a failure on the
 * first reconnect.
 * @throws TickflowError TF_CONFIG_INVALID when a configured CA, certificate or key file cannot be read.
 */
export function kafkaSecurity(bus: Pick<Config['bus'], 'tls' | 'sasl' | 'brokers'>): KafkaSecurity {
  const out: { -readonly [K in keyof KafkaSecurity]: KafkaSecurity[K] } = {};
  const { tls, sasl } = bus;
  if (tls.enabled) {
    out.tls = {
      ...(tls.ca ? { ca: readPem('bus.tls.ca', tls.ca) } : {}),
      ...(tls.cert ? { cert: readPem('bus.tls.cert', tls.cert), key: readPem('bus.tls.key', tls.key) } : {}),
      // Node verifies the chain and the host name by default; say so rather than rely on it.
      rejectUnauthorized: true,
    };
    // SNI (hosted Kafka routes by it) and the name checked against the certificate: the configured
    // one, else each broker's own host. An IP address is not a valid SNI name (RFC 6066 §3), so
    // brokers given as IPs go without; Node still checks the IP against the certificate.
    if (tls.serverName) out.tlsServerName = tls.serverName;
    else if (!bus.brokers.every((b) => isIP(b.slice(0, b.lastIndexOf(':'))) !== 0)) out.tlsServerName = true;
  } else if (tls.ca || tls.cert || tls.serverName) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      'bus.tls.ca, bus.tls.cert or bus.tls.serverName is set but bus.tls.enabled is false; set TICKFLOW_BUS_TLS_ENABLED=true',
    );
  }
  if (sasl.mechanism !== 'none') {
    out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  }
  return out;
}
