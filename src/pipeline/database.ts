import { ShutdownOrder } from '../ops/shutdown.js';
import type { Database } from '../store/database.js';
import { openDatabase } from '../store/open.js';
import { retentionApplies } from '../store/partitions.js';
import type { RoleContext } from './context.js';

/** Opens the configured database, brings its schema up to date, and closes it last on shutdown. */
export async function openStore(ctx: RoleContext): Promise<Database> {
  const db = await openDatabase(ctx.config.store, { logger: ctx.logger, retention: retentionApplies(ctx.config) });
  ctx.logger.info({ database: db.kind }, 'database ready');
  ctx.health.register('database', async () =>
    (await db.ping().catch(() => false)) ? { state: 'up', details: { kind: db.kind } } : { state: 'down', reason: `${db.kind} database not reachable` },
  );
  ctx.shutdown.onShutdown('close database', () => db.close(), ShutdownOrder.closeDatabase);
  return db;
}
