import type { Command } from 'commander';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { addConfigOptions, configFrom } from '../options.js';
import { timeFlag } from '../time.js';

/**
 * `tickflow verify --symbol --from --to [--against file|rest]`: compares the stored complete 1m candles
 * with Binance's klines in all nine fields (GET /api/v3/klines or a data.binance.vision file); exit
 * code 1 when any differs or when no minute could be compared. `--to` not after `--from` is
 * TF_CONFIG_INVALID.
 */
export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .description(
      "compare stored 1m candles with Binance's klines in all nine fields; prints the mismatches and exits 1 when there are any, or when no minute could be compared",
    )
    .requiredOption('--symbol <symbol>', 'e.g. BTCUSDT')
    .requiredOption('--from <time>', 'first minute (epoch ms or ISO-8601, UTC)')
    .requiredOption('--to <time>', 'end, exclusive (epoch ms or ISO-8601, UTC)')
    .option('--against <file|rest>', 'an official data.binance.vision klines file (.zip/.csv), or "rest" for GET klines at --rest-url', 'rest');
  addConfigOptions(cmd, ['source.market', 'source.restBaseUrl', 'store.url', 'store.dataDir']).action(async (opts: Record<string, unknown>) => {
    const { silentLogger } = await import('../../ops/logger.js');
    const { openDatabase } = await import('../../store/open.js');
    const { BinanceRestClient } = await import('../../sources/binance/rest.js');
    const v = await import('../../pipeline/verify.js');
    const config = configFrom(opts);
    const symbol = String(opts.symbol).toUpperCase();
    const from = timeFlag(opts.from, '--from');
    const to = timeFlag(opts.to, '--to');
    if (to <= from) throw new TickflowError(ErrorCodes.CONFIG_INVALID, '--to must be after --from');
    const against = String(opts.against);
    const theirs =
      against === 'rest'
        ? await v.klinesFromRest(new BinanceRestClient({ baseUrl: config.source.restBaseUrl, market: config.source.market }), symbol, from, to)
        : await v.klinesFromFile(against, config.source.market);
    const db = await openDatabase(config.store, { logger: silentLogger() });
    let result: ReturnType<typeof v.compareCandles>;
    try {
      result = v.compareCandles(await v.storedCandles(db, { exchange: 'binance', market: config.source.market, symbol }, from, to), theirs, from, to);
    } finally {
      await db.close();
    }
    process.stdout.write(`${symbol}: ${result.compared} candles compared, ${result.incomplete} incomplete skipped, ${result.mismatches.length} mismatches\n`);
    if (result.mismatches.length > 0) {
      process.stdout.write(`${v.mismatchTable(result.mismatches)}\n`);
      process.exitCode = 1;
    } else if (result.compared === 0) {
      // A check that compared nothing proves nothing: a wrong file, market or period must not pass.
      process.stderr.write(
        `${symbol}: nothing to compare — no minute in [${new Date(from).toISOString()}, ${new Date(to).toISOString()}) has both a complete stored ${config.source.market} candle and a kline from ${against}\n`,
      );
      process.exitCode = 1;
    }
  });
}
