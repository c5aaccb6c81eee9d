import type { Command } from 'commander';
import type { TickflowError } from '../../core/errors.js';
import { addConfigOptions, configFrom } from '../options.js';
import { timeFlag } from '../time.js';

const DEFAULT_STREAMS = 'aggTrade,trade,kline_1m';
const MINUTE = 60_000;

/**
 * `tickflow backfill --from --to`: trades, aggTrades and klines of whole past minutes over REST into
 * the database, resumable and idempotent, then that period's candles. Errors (TF_CONFIG_INVALID for a
 * bad plan or flag, TF_REST_* from Binance) reach main.ts, which maps them to the exit code.
 */
export function registerBackfill(program: Command): void {
  const cmd = program
    .command('backfill')
    .description(
      'fetch trades, aggTrades and klines of a past period over REST into the database (resumable after kill -9, idempotent, within the ' +
        "REST weight budget), then build that period's candles from the trades; check them with `tickflow verify --against rest`",
    )
    .requiredOption('--from <time>', 'start (epoch ms or ISO-8601, UTC); rounded down to the minute')
    .requiredOption('--to <time>', 'end, exclusive (epoch ms or ISO-8601, UTC); rounded up to the minute, at most now');
  addConfigOptions(cmd, ['source.market', 'source.symbols', 'source.streams', 'source.restBaseUrl', 'store.url', 'store.dataDir']).action(
    async (opts: Record<string, unknown>) => {
      const { silentLogger } = await import('../../ops/logger.js');
      const { createMetrics } = await import('../../ops/metrics.js');
      const { openDatabase } = await import('../../store/open.js');
      const { createRestClient } = await import('../../history/rest-endpoint.js');
      const { checkPlan, runBackfill } = await import('../../history/backfill.js');
      const { progressBar } = await import('../../history/progress.js');
      const { restBaseUrlFor } = await import('../../sources/binance/streams.js');
      const config = configFrom({ ...opts, streams: opts.streams ?? DEFAULT_STREAMS });
      // Whole minutes, so every candle of the period holds all of its trades; never the future.
      const from = Math.floor(timeFlag(opts.from, '--from') / MINUTE) * MINUTE;
      const to = Math.min(Math.ceil(timeFlag(opts.to, '--to') / MINUTE) * MINUTE, Math.floor(Date.now() / MINUTE) * MINUTE);
      const market = config.source.market;
      const plan = { market, symbols: config.source.symbols, streams: config.source.streams, from, to };
      checkPlan(plan);
      const abort = new AbortController();
      // A wait (a 429 without Retry-After is 60 s, five times) would otherwise be silent minutes before the first bar.
      const onRetry = (err: TickflowError, attempt: number) =>
        process.stderr.write(`tickflow: ${err.code}: ${err.message}; attempt ${attempt} failed, retrying\n`);
      const client = createRestClient(
        { market, restBaseUrl: restBaseUrlFor(market, config.source.restBaseUrl) },
        config.heal,
        createMetrics(),
        abort.signal,
        onRetry,
      );
      const db = await openDatabase(config.store, { logger: silentLogger() });
      try {
        const results = await runBackfill({ db, client, processor: config.processor, progress: progressBar() }, plan);
        for (const r of results) {
          process.stdout.write(`${r.symbol} ${r.stream}: ${r.alreadyDone ? 'already done, skipped' : `${r.rows} rows`}\n`);
        }
        const w = client.weight();
        process.stdout.write(
          `backfill ${new Date(from).toISOString()} – ${new Date(to).toISOString()} done; REST weight used this minute ${w.used}/${w.limit}\n`,
        );
      } finally {
        abort.abort();
        await db.close();
      }
    },
  );
}
