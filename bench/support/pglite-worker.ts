import { Worker } from 'node:worker_threads';
import type { Request } from './pglite-worker-thread.js';

export interface WorkerStore {
  query(sql: string, params?: unknown[]): Promise<unknown[]>;
  /** The statements in one transaction. */
  tx(statements: { sql: string; params: unknown[] }[]): Promise<void>;
  close(): Promise<void>;
}

type Payload = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Candidate (a) of issue 10: PGlite and its PostgreSQL socket moved into a worker thread; the main
 * thread sends statements by message. Resolves once the worker opened and migrated the database.
 */
export async function openPgliteWorker(dataDir: string, port: number): Promise<WorkerStore> {
  // tsx's loader is registered inside the worker: execArgv --import does not reach worker threads here.
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(new URL('./pglite-worker-thread.ts', import.meta.url).href)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { dataDir, port } });
  const waiting = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: { ready?: true; id?: number; rows?: unknown[]; error?: string }) => {
      if (m.ready) return resolve();
      const w = waiting.get(m.id!);
      waiting.delete(m.id!);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.rows ?? []);
    });
  });
  const call = (req: Payload): Promise<unknown[]> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      worker.postMessage({ ...req, id });
    });
  return {
    query: (sql, params) => call({ op: 'query', sql, params }),
    tx: async (statements) => void (await call({ op: 'tx', statements })),
    async close() {
      await call({ op: 'close' });
      await worker.terminate();
    },
  };
}
