import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../../src/ops/logger.js';
import type { Database, Queryable } from '../../src/store/database.js';
import { toStoreError } from '../../src/store/errors.js';

/**
 * The embedded store before issue 10 (PGlite on the main thread), kept as the baseline of
 * bench/embedded-store.ts.
 */
export interface PgliteOptions {
  /** Directory holding the database files (created when missing). */
  readonly dataDir: string;
  /** Port on 127.0.0.1 for PostgreSQL clients (psql, Grafana); 0 disables the socket. */
  readonly port: number;
  readonly logger: Logger;
}

export interface PgliteDatabase extends Database {
  readonly kind: 'embedded';
  /** Where psql can connect, when the socket is enabled. */
  readonly socketAddress: { host: string; port: number } | undefined;
}

/** A FIFO lock: PGlite is one PostgreSQL session, so at most one of our statements or transactions runs at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const BUSY = Symbol('busy');

/**
 * PGlite (PostgreSQL compiled to WASM) persisted in `dataDir`, plus a PostgreSQL wire-protocol
 * socket so psql and Grafana can read while tickflow runs.
 *
 * PGlite has a single session shared by us and every socket client. Two rules keep them apart:
 * a socket message never runs while one of our transactions is open (the socket's lock is our
 * mutex), and we never start while a socket client holds a transaction open (we back off and
 * retry), so statements of one never land inside the other's transaction.
 */
export async function openPglite(options: PgliteOptions): Promise<PgliteDatabase> {
  const logger = options.logger.child({ component: 'store', database: 'embedded' });
  await mkdir(options.dataDir, { recursive: true });
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({ dataDir: options.dataDir });
  } catch (err) {
    throw toStoreError(err, `cannot open the embedded database in ${options.dataDir}`);
  }
  const mutex = new Mutex();

  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (;;) {
      const outcome = await mutex.run(async () => (pglite.isInTransaction() ? BUSY : { value: await fn() }));
      if (outcome !== BUSY) return outcome.value;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const run = async <R>(q: Pick<PGlite, 'query' | 'exec'>, sql: string, params?: readonly unknown[]): Promise<R[]> => {
    try {
      // Without parameters the simple protocol runs several statements (as node-postgres does).
      if (params === undefined || params.length === 0) {
        const results = await q.exec(sql);
        return (results[results.length - 1]?.rows ?? []) as R[];
      }
      return (await q.query<R>(sql, [...params])).rows;
    } catch (err) {
      throw toStoreError(err, 'query failed');
    }
  };

  let server: PGLiteSocketServer | undefined;
  let socketAddress: PgliteDatabase['socketAddress'];
  if (options.port > 0) {
    const guarded = new Proxy(pglite, {
      get(target, prop) {
        if (prop === 'runExclusive') return <T>(fn: () => Promise<T>) => mutex.run(() => target.runExclusive(fn));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    server = new PGLiteSocketServer({ db: guarded, host: '127.0.0.1', port: options.port, maxConnections: 16 });
    try {
      await server.start();
    } catch (err) {
      await pglite.close();
      throw toStoreError(err, `cannot listen for PostgreSQL clients on 127.0.0.1:${options.port}`);
    }
    socketAddress = { host: '127.0.0.1', port: options.port };
    logger.info({ address: server.getServerConn() }, 'embedded database accepts PostgreSQL clients');
  }

  return {
    kind: 'embedded',
    socketAddress,
    query: (sql, params) => exclusive(() => run(pglite, sql, params)),
    transaction: (fn) =>
      exclusive(async () => {
        try {
          return await pglite.transaction((tx) => fn({ query: (sql, params) => run(tx, sql, params) } satisfies Queryable));
        } catch (err) {
          throw toStoreError(err, 'transaction failed');
        }
      }),
    async ping() {
      try {
        await exclusive(() => pglite.query('SELECT 1'));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await server?.stop();
      await mutex.run(() => pglite.close());
    },
  };
}
