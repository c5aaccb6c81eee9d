import { type Instrument, tradeIdOf } from '../core/events.js';
import { type CoreInput, ProcessorCore, type ProcessorOptions } from '../processors/processor-core.js';
import { storedTradesPage, writeUpserts } from '../processors/processor-store.js';
import type { Database } from '../store/database.js';

/** Stored trades folded in per transaction. */
const PAGE = 5_000;
/**
 * Offsets of the backfill's inputs: far below any bus offset, so a live processor that later
 * restores one of these windows treats every bus event as new to it.
 */
const FIRST_OFFSET = -(2n ** 62n);

/**
 * Builds the candles (and trade metrics, whales) of [from, to) for one instrument from its stored
 * `options.tradeStream` trades, with the stream processor's own core, oldest id first: the same
 * windows, watermark and completeness rules as live. Rows are upserted per page and once more when
 * every window is closed at the end; running it again writes the same rows. `onProgress` gets the
 * ms of the period covered and the trades folded so far. Returns the trades folded.
 */
export async function buildCandles(
  db: Database,
  options: ProcessorOptions,
  instrument: Instrument & { readonly market: 'spot' | 'usdm' },
  from: number,
  to: number,
  onProgress: (coveredMs: number, trades: number) => void,
): Promise<number> {
  const core = new ProcessorCore(options);
  const key = { market: instrument.market, symbol: instrument.symbol, kind: options.tradeStream };
  let offset = FIRST_OFFSET;
  let afterId = -1;
  let folded = 0;
  // Keyset pagination by id: each page starts past the last one, so the loop ends with the stored trades.
  for (;;) {
    const page = await storedTradesPage(db, key, from, to, afterId, PAGE);
    const last = page.at(-1);
    if (last === undefined) break;
    const inputs: CoreInput[] = page.map((event) => ({ source: 'backfill/0', offset: offset++, event }));
    const { upserts } = core.ingest(inputs);
    await db.transaction((tx) => writeUpserts(tx, upserts));
    afterId = tradeIdOf(last);
    folded += page.length;
    onProgress(last.tradeTime - from, folded);
  }
  await db.transaction((tx) => writeUpserts(tx, core.finish()));
  onProgress(to - from, folded);
  return folded;
}
