import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Market } from '../core/events.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { csvText, describeFile, readVerified, recordsOf, type VisionEvent, type VisionFile } from '../sources/binance/vision/files.js';
import type { Database } from '../store/database.js';
import { writeEvents } from '../store/writer.js';

/** One data.binance.vision file `tickflow import` loaded: name, kind, symbol, rows stored, checksum outcome. */
export interface ImportedFile {
  readonly name: string;
  readonly kind: VisionFile['kind'];
  readonly symbol: string;
  readonly rows: number;
  /** `verified` against .CHECKSUM, `absent` (no .CHECKSUM beside it), `already` (imported before: skipped). */
  readonly checksum: 'verified' | 'absent' | 'already';
}

const BATCH = 5_000;

/** The data.binance.vision files named by `paths` (files, or folders read one level deep), sorted. */
export async function visionFiles(paths: readonly string[]): Promise<VisionFile[]> {
  const out: VisionFile[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((err: unknown) => {
      throw new TickflowError(ErrorCodes.IMPORT_REJECTED, `cannot read ${path}`, { cause: err });
    });
    if (!info.isDirectory()) {
      out.push(describeFile(path));
      continue;
    }
    const names = (await readdir(path)).filter((n) => /\.(zip|csv)$/.test(n)).sort();
    for (const name of names) out.push(describeFile(join(path, name)));
  }
  return out;
}

/**
 * `tickflow import`: loads data.binance.vision klines, aggTrades and trades files into the klines
 * and trades tables through the store writer's idempotent statements. All or nothing: every
 * checksum is verified before anything is written, then every file is parsed and written in ONE
 * transaction, so a bad checksum, a corrupted zip or a malformed row (TF_IMPORT_REJECTED, naming
 * the file and line) leaves the database as it was. A file already imported (same sha256) is
 * skipped; importing the same rows again under another name changes nothing either.
 */
export async function importFiles(db: Database, paths: readonly string[], market: Market): Promise<ImportedFile[]> {
  const files = await visionFiles(paths);
  if (files.length === 0) throw new TickflowError(ErrorCodes.IMPORT_REJECTED, `no .zip or .csv files in ${paths.join(', ')}`);
  // Checksums first: a damaged download is refused before the transaction starts.
  const verified: ({ file: VisionFile } & Awaited<ReturnType<typeof readVerified>>)[] = [];
  for (const file of files) verified.push({ file, ...(await readVerified(file)) });
  const at = Date.now() * 1_000;
  // The transaction reports failures as store errors; a rejected file is the user's to fix, so its own error is what surfaces.
  let rejection: TickflowError | undefined;
  const reject = (err: unknown): never => {
    if (err instanceof TickflowError && err.code === ErrorCodes.IMPORT_REJECTED) rejection = err;
    throw err;
  };
  return db
    .transaction(async (tx) => {
      const done: ImportedFile[] = [];
      for (const { file, bytes, sha256, checksum } of verified) {
        const seen = await tx.query('SELECT 1 FROM imported_files WHERE sha256 = $1', [sha256]);
        if (seen.length > 0) {
          done.push({ name: file.name, kind: file.kind, symbol: file.symbol, rows: 0, checksum: 'already' });
          continue;
        }
        let rows = 0;
        let batch: VisionEvent[] = [];
        try {
          for (const record of recordsOf(file, csvText(file, bytes), market, at)) {
            batch.push(record);
            if (batch.length >= BATCH) {
              await writeEvents(tx, batch);
              rows += batch.length;
              batch = [];
            }
          }
        } catch (err) {
          reject(err);
        }
        await writeEvents(tx, batch);
        rows += batch.length;
        await tx.query('INSERT INTO imported_files (sha256, file_name, kind, exchange, market, symbol, rows) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          sha256,
          file.name,
          file.kind,
          'binance',
          market,
          file.symbol,
          rows,
        ]);
        done.push({ name: file.name, kind: file.kind, symbol: file.symbol, rows, checksum });
      }
      return done;
    })
    .catch((err: unknown) => {
      throw rejection ?? err;
    });
}
