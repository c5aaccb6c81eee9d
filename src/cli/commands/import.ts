import type { Command } from 'commander';
import { addConfigOptions, configFrom } from '../options.js';

/**
 * `tickflow import <paths...>`: loads data.binance.vision klines, aggTrades and trades files (.zip or
 * .csv, each checked against its .CHECKSUM) into the database, all or nothing; prints one line per
 * file. A refused file fails with TF_IMPORT_REJECTED.
 */
export function registerImport(program: Command): void {
  const cmd = program
    .command('import')
    .argument('<paths...>', 'data.binance.vision .zip/.csv files, or folders of them')
    .description('load data.binance.vision klines, aggTrades and trades files (checked against their .CHECKSUM) into the database, all or nothing');
  addConfigOptions(cmd, ['source.market', 'store.url', 'store.dataDir', 'ops.logLevel']).action(async (paths: string[], opts: Record<string, unknown>) => {
    const { silentLogger } = await import('../../ops/logger.js');
    const { openDatabase } = await import('../../store/open.js');
    const { importFiles } = await import('../../pipeline/import.js');
    const config = configFrom(opts);
    const db = await openDatabase(config.store, { logger: silentLogger() });
    try {
      const files = await importFiles(db, paths, config.source.market);
      for (const f of files) {
        const what = f.checksum === 'already' ? 'already imported, skipped' : `${f.rows} rows, checksum ${f.checksum}`;
        process.stdout.write(`${f.name}: ${f.kind} ${f.symbol}: ${what}\n`);
      }
    } finally {
      await db.close();
    }
  });
}
