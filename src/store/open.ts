import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { Logger } from '../ops/logger.js';
import type { Database } from './database.js';
import { openEmbedded } from './embedded.js';
import { migrate } from './migrate.js';
import { openPostgres } from './postgres.js';

export interface OpenDatabaseDeps {
  readonly logger: Logger;
  /** Skip the schema migration (tools that only read). Default false. */
  readonly skipMigrations?: boolean;
}

/**
 * The database `store.url` names — `embedded` (PGlite in <store.dataDir>/pglite, psql on
 * store.embeddedPort) or a postgres:// URL — with the schema brought up to date.
 */
export async function openDatabase(store: Config['store'], deps: OpenDatabaseDeps): Promise<Database> {
  const db =
    store.url === 'embedded'
      ? await openEmbedded({ dataDir: join(store.dataDir, 'pglite'), port: store.embeddedPort, logger: deps.logger })
      : await openPostgres(store.url, { logger: deps.logger, tls: store.tls });
  if (deps.skipMigrations) return db;
  try {
    await migrate(db, { logger: deps.logger, retentionDays: store.retentionDays });
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
