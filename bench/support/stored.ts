import type { EmittedReport } from '../../src/simulator/index.js';
import type { Queryable } from '../../src/store/database.js';
import { emittedTradeRanges, readEmbedded, storedTradeRanges } from '../../test/support/pipeline.js';

export interface StoredReport {
  /** Every way the database differs from what the simulator delivered; empty when exact. */
  readonly problems: readonly string[];
  /** WebSocket frames the database accounts for, per stream type (trade, aggTrade, bookTicker, depth, kline). */
  readonly frames: Readonly<Record<string, number>>;
  /** Ingest latency of trades (ingestion time − the simulator's send time E), ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** p99 ingest latency in the first and the last third of the run (by send time), ms: growth means falling behind. */
  readonly p99FirstThirdMs: number;
  readonly p99LastThirdMs: number;
  /** Epoch ms of the last frame received. */
  readonly lastIngestAt: number;
}

/**
 * Compares a stopped `tickflow run`'s embedded database with the simulator's emitted() report:
 * trade/aggTrade id ranges, bookTicker counts and id bounds, depth ids, no gaps, no dead letters.
 */
export async function checkStored(dataDir: string, emitted: EmittedReport, symbols: readonly string[]): Promise<StoredReport> {
  return readEmbedded(dataDir, async (db) => {
    const problems: string[] = [];
    const frames: Record<string, number> = {};
    const add = (kind: string, n: number) => (frames[kind] = (frames[kind] ?? 0) + n);

    const stored = await storedTradeRanges(db);
    for (const [stream, ranges] of emittedTradeRanges(emitted)) {
      const got = stored.get(stream) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(ranges)) {
        problems.push(`${stream}: stored ${describe(got)} but emitted ${describe(ranges)}`);
      }
      add(stream.split('@')[1]!, emitted[stream]!.count);
    }
    for (const symbol of symbols) {
      const s = symbol.toLowerCase();
      const bookTicker = emitted[`${s}@bookTicker`];
      if (bookTicker !== undefined) {
        const [bt] = await db.query<{ n: number; lo: string | null; hi: string | null }>(
          'SELECT count(*)::int AS n, min(update_id)::text AS lo, max(update_id)::text AS hi FROM book_ticker WHERE symbol = $1',
          [symbol],
        );
        const got = [bt!.n, Number(bt!.lo), Number(bt!.hi)];
        const want = [bookTicker.count, bookTicker.firstId, bookTicker.lastId];
        if (JSON.stringify(got) !== JSON.stringify(want))
          problems.push(`${s}@bookTicker: stored [n, first, last] ${JSON.stringify(got)}, emitted ${JSON.stringify(want)}`);
        add('bookTicker', bookTicker.count);
      }
      const depth = emitted[`${s}@depth@100ms`];
      if (depth !== undefined) {
        const [dp] = await db.query<{ n: number; ids: number; lo: string | null; hi: string | null }>(
          `SELECT count(*)::int AS n, sum(final_update_id - first_update_id + 1)::int AS ids, min(first_update_id)::text AS lo,
                  max(final_update_id)::text AS hi FROM depth_updates WHERE symbol = $1`,
          [symbol],
        );
        const got = [dp!.ids, Number(dp!.lo), Number(dp!.hi)];
        const want = [depth.count, depth.firstId, depth.lastId];
        if (JSON.stringify(got) !== JSON.stringify(want))
          problems.push(`${s}@depth: stored [ids, first, last] ${JSON.stringify(got)}, emitted ${JSON.stringify(want)}`);
        add('depth', dp!.n);
      }
      for (const [stream, e] of Object.entries(emitted)) if (stream.startsWith(`${s}@kline_`)) add('kline', e.count);
    }
    const [holes] = await db.query<{ gaps: number; dead: number }>(
      'SELECT (SELECT count(*)::int FROM gaps) AS gaps, (SELECT count(*)::int FROM dead_letters) AS dead',
    );
    if (holes!.gaps > 0) problems.push(`${holes!.gaps} gap rows`);
    if (holes!.dead > 0) problems.push(`${holes!.dead} dead letters`);
    return { problems, frames, ...(await latency(db)) };
  });
}

async function latency(db: Queryable): Promise<Omit<StoredReport, 'problems' | 'frames'>> {
  const lat = `extract(epoch FROM ingestion_timestamp - event_time) * 1000`;
  const [all] = await db.query<{ p50: number; p99: number; max: number; last: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ${lat})::float8 AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ${lat})::float8 AS p99,
            max(${lat})::float8 AS max,
            (extract(epoch FROM max(ingestion_timestamp)) * 1000)::float8 AS last
     FROM trades WHERE kind = 'trade'`,
  );
  const thirds = await db.query<{ third: number; p99: number }>(
    `SELECT third, percentile_cont(0.99) WITHIN GROUP (ORDER BY lat)::float8 AS p99
     FROM (SELECT ntile(3) OVER (ORDER BY event_time) AS third, ${lat} AS lat FROM trades WHERE kind = 'trade') t
     GROUP BY third ORDER BY third`,
  );
  return {
    latencyMs: { p50: all!.p50, p99: all!.p99, max: all!.max },
    p99FirstThirdMs: thirds[0]?.p99 ?? NaN,
    p99LastThirdMs: thirds[2]?.p99 ?? NaN,
    lastIngestAt: all!.last,
  };
}

function describe(ranges: readonly (readonly [number, number])[]): string {
  if (ranges.length === 0) return 'nothing';
  const ids = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
  return `${ids} ids in ${ranges.length} run(s) ${ranges[0]![0]}..${ranges[ranges.length - 1]![1]}`;
}
