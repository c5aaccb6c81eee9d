import { parentPort, workerData } from 'node:worker_threads';
import { silentLogger } from '../../src/ops/logger.js';
import { migrate } from '../../src/store/migrate.js';
import { openPglite } from './pglite-embedded.js';

/** Messages the main thread sends (bench/support/pglite-worker.ts). */
export type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[] }
  | { id: number; op: 'tx'; statements: { sql: string; params: unknown[] }[] }
  | { id: number; op: 'close' };

const { dataDir, port } = workerData as { dataDir: string; port: number };
const logger = silentLogger();
const db = await openPglite({ dataDir, port, logger });
await migrate(db, { logger, retentionDays: 30 });
parentPort!.on('message', (req: Request) => {
  const answer = (async () => {
    if (req.op === 'query') return db.query(req.sql, req.params);
    if (req.op === 'tx') {
      return db.transaction(async (tx) => {
        for (const s of req.statements) await tx.query(s.sql, s.params);
        return [];
      });
    }
    await db.close();
    return [];
  })();
  answer.then(
    (rows) => parentPort!.postMessage({ id: req.id, rows }),
    (err: Error) => parentPort!.postMessage({ id: req.id, error: err.message }),
  );
});
parentPort!.postMessage({ ready: true });
