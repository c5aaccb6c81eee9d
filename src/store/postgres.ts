import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import type { Logger } from '../ops/logger.js';
import type { Database, Queryable } from './database.js';
import { redactUrl } from '../ops/redact.js';
import type { Config } from '../config/schema.js';
import { toStoreError } from './errors.js';
import { postgresConnection } from './tls.js';

/** How openPostgres connects: logger, TLS files, the kind it reports, pool size. */
export interface PostgresOptions {
  readonly logger: Logger;
  /** store.tls: CA, client certificate and key (PEM file paths, empty = not set); see postgresConnection. */
  readonly tls?: Config['store']['tls'];
  /** Reported as `Database.kind`; `embedded` for the server tickflow runs itself (embedded.ts). */
  readonly kind?: Database['kind'];
  /** Pool size; the writer uses one connection at a time, readers (API) the rest. */
  readonly maxConnections?: number;
}

const INT8_OID = 20;

/**
 * Row values come back typed the same way as from PGlite: int8 (ids, counts) as numbers — every
 * id tickflow stores is below 2^53 — and numeric as exact strings (node-postgres' default).
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

type Rows<R> = R[];

function rowsOf<R>(result: pg.QueryResult | pg.QueryResult[]): Rows<R> {
  // A parameterless query may hold several statements; pg then returns one result per statement.
  const last = Array.isArray(result) ? result[result.length - 1] : result;
  return (last?.rows ?? []) as R[];
}

const NO_TLS: Config['store']['tls'] = { ca: '', cert: '', key: '' };

/**
 * A PostgreSQL server through a node-postgres pool. Connects lazily, so it opens while the server is
 * down. `target` is a postgres:// URL — TLS follows its `sslmode` and `options.tls` — or
 * node-postgres connection settings (the embedded server's Unix socket).
 * @throws TickflowError TF_CONFIG_INVALID for an unsupported sslmode or an unreadable CA/cert/key file.
 */
export async function openPostgres(target: string | pg.ClientConfig, options: PostgresOptions): Promise<Database> {
  const connection = typeof target === 'string' ? postgresConnection(target, options.tls ?? NO_TLS) : undefined;
  const logger = options.logger.child({
    component: 'store',
    database: connection ? redactUrl(connection.connectionString) : `${(target as pg.ClientConfig).host ?? ''}/${(target as pg.ClientConfig).database ?? ''}`,
    ...(connection ? { sslmode: connection.sslmode } : {}),
  });
  const pool = new pg.Pool({
    ...(connection ? { connectionString: connection.connectionString, ssl: connection.ssl } : (target as pg.ClientConfig)),
    max: options.maxConnections ?? 5,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: 'tickflow',
    types,
  });
  // An idle client losing its connection (server restart) emits here; unhandled, it would kill the process.
  pool.on('error', (err) => logger.warn({ err: toStoreError(err, 'idle connection').message }, 'database connection lost'));

  const query = async <R extends object>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]): Promise<R[]> => {
    try {
      const result = (await client.query(sql, params === undefined ? undefined : [...params])) as unknown as pg.QueryResult | pg.QueryResult[];
      return rowsOf<R>(result);
    } catch (err) {
      throw toStoreError(err, 'query failed');
    }
  };

  const copyFrom = async (client: pg.PoolClient, sql: string, text: string): Promise<number> => {
    try {
      const stream = client.query(copyFromStdin(sql));
      await pipeline(Readable.from([text]), stream);
      return stream.rowCount;
    } catch (err) {
      throw toStoreError(err, 'COPY failed');
    }
  };

  return {
    kind: options.kind ?? 'postgres',
    query: (sql, params) => query(pool, sql, params),
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw toStoreError(err, 'cannot connect to PostgreSQL');
      }
      let broken: Error | undefined;
      // A checked-out client whose connection dies emits 'error'; unheard, that would crash the process.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await query(client, 'BEGIN');
        const tx: Queryable = { query: (sql, params) => query(client, sql, params), copyFrom: (sql, text) => copyFrom(client, sql, text) };
        const result = await fn(tx);
        await query(client, 'COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => {
          broken = rollbackErr;
        });
        throw err;
      } finally {
        // A connection that could not even roll back is discarded rather than reused.
        client.off('error', onError);
        client.release(broken);
      }
    },
    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
