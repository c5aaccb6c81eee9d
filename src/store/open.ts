import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { Database } from './database.js';
import { openEmbedded } from './embedded.js';
import { migrate } from './migrate.js';
import { openPostgres } from './postgres.js';

/** How openDatabase opens the store: logger, whether to migrate, whether retention runs at start. */
export interface OpenDatabaseDeps {
  readonly logger: Logger;
  /** Skip the schema migration (tools that only read). Default false. */
  readonly skipMigrations?: boolean;
  /** false: no retention at start-up (replays). Default true. */
  readonly retention?: boolean;
}

/** The database registry: `embedded` for store.url = embedded, `postgres` for a postgres:// URL. */
export const databaseKinds: { readonly [K in Database['kind']]: (store: Config['store'], deps: OpenDatabaseDeps) => Promise<Database> } = {
  embedded: (store, deps) =>
    openEmbedded({
      dataDir: store.dataDir,
      port: store.embeddedPort,
      host: store.embeddedHost,
      password: store.embeddedPassword,
      statementTimeoutMs: store.clientStatementTimeoutMs,
      idleInTransactionTimeoutMs: store.clientIdleInTransactionTimeoutMs,
      logger: deps.logger,
    }),
  postgres: (store, deps) => openPostgres(store.url, { logger: deps.logger, tls: store.tls }),
};

/**
 * The database `store.url` names — `embedded` (PostgreSQL in <store.dataDir>/postgres, psql on
 * store.embeddedHost:store.embeddedPort) or a postgres:// URL — with the schema brought up to date.
 */
export async function openDatabase(store: Config['store'], deps: OpenDatabaseDeps): Promise<Database> {
  const db = await databaseKinds[store.url === 'embedded' ? 'embedded' : 'postgres'](store, deps);
  if (deps.skipMigrations) return db;
  try {
    await migrate(db, { logger: deps.logger, retentionDays: store.retentionDays, retention: deps.retention ?? true });
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
