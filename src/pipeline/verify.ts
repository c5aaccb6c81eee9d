import type { Instrument, Market } from '../core/events.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import type { BinanceRestClient } from '../sources/binance/rest.js';
import type { KlineRow } from '../sources/binance/rest-parse.js';
import { csvText, describeFile, readVerified, recordsOf } from '../sources/binance/vision/files.js';
import { KLINE_VALUE_COLUMNS, klineValues } from '../store/candle-rows.js';
import type { Queryable } from '../store/database.js';

/** The nine value fields of a kline that candles must equal (data README: "all nine value fields"). */
export const KLINE_VALUE_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'quoteVolume', 'tradeCount', 'takerBuyVolume', 'takerBuyQuoteVolume'] as const;
/** One of the nine kline values `tickflow verify` compares (open time being the key). */
export type KlineValueField = (typeof KLINE_VALUE_FIELDS)[number];

/** One difference: the candle's open time (epoch ms), the field (or `candle` when one side has none), both values. */
export interface Mismatch {
  readonly minute: number;
  readonly field: KlineValueField | 'candle';
  readonly ours: string;
  readonly theirs: string;
}

/** What compareCandles found: minutes compared, incomplete ones skipped, and every mismatch. */
export interface Comparison {
  readonly compared: number;
  /** Stored candles not complete (the recording covered only part of the minute): not compared. */
  readonly incomplete: number;
  readonly mismatches: readonly Mismatch[];
}

/** Stored 1m candle values by open time (epoch ms), and the open times of incomplete ones. */
export interface StoredCandles {
  readonly complete: ReadonlyMap<number, KlineRow>;
  readonly incomplete: ReadonlySet<number>;
}

/** "7195.24000000" and "7195.24" are the same number: compare decimals without their insignificant zeros. */
export function canonicalDecimal(value: string): string {
  let s = value.trim();
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  s = s.replace(/^0+(?=\d)/, '');
  return s === '' ? '0' : s;
}

function fieldValue(row: KlineRow, field: KlineValueField): string {
  return field === 'tradeCount' ? String(row.tradeCount) : row[field];
}

/**
 * Compares stored candles with Binance's klines field by field, exactly, for open times in
 * [from, to) (epoch ms). A kline without trades needs no stored candle; any other missing or extra
 * candle is a `candle` mismatch. Mismatches are sorted by minute, then field order.
 */
export function compareCandles(ours: StoredCandles, theirs: readonly KlineRow[], from: number, to: number): Comparison {
  const mismatches: Mismatch[] = [];
  const seen = new Set<number>();
  let compared = 0;
  let incomplete = 0;
  for (const k of theirs) {
    if (k.openTime < from || k.openTime >= to) continue;
    seen.add(k.openTime);
    if (ours.incomplete.has(k.openTime)) {
      incomplete += 1;
      continue;
    }
    const mine = ours.complete.get(k.openTime);
    if (mine === undefined) {
      if (k.tradeCount > 0) mismatches.push({ minute: k.openTime, field: 'candle', ours: 'missing', theirs: `${k.tradeCount} trades` });
      continue;
    }
    compared += 1;
    for (const field of KLINE_VALUE_FIELDS) {
      const a = fieldValue(mine, field);
      const b = fieldValue(k, field);
      if (canonicalDecimal(a) !== canonicalDecimal(b)) mismatches.push({ minute: k.openTime, field, ours: a, theirs: b });
    }
  }
  for (const [minute, mine] of ours.complete) {
    if (!seen.has(minute) && minute >= from && minute < to) mismatches.push({ minute, field: 'candle', ours: `${mine.tradeCount} trades`, theirs: 'missing' });
  }
  mismatches.sort((x, y) => x.minute - y.minute);
  return { compared, incomplete, mismatches };
}

/**
 * The processor's stored 1m candles of one instrument (exchange, market, symbol) with window_start
 * in [from, to) (epoch ms): the same symbol on another market is another instrument.
 */
export async function storedCandles(db: Queryable, instrument: Instrument, from: number, to: number): Promise<StoredCandles> {
  const rows = await db.query<Record<string, string | number | boolean>>(
    `SELECT (extract(epoch from window_start) * 1000)::float8 AS open_time, (extract(epoch from window_end) * 1000)::float8 AS close_time,
            ${KLINE_VALUE_COLUMNS}, is_complete
       FROM candles WHERE exchange = $1 AND market = $2 AND symbol = $3 AND interval = '1m'
        AND window_start >= $4::timestamptz AND window_start < $5::timestamptz`,
    [instrument.exchange, instrument.market, instrument.symbol, new Date(from).toISOString(), new Date(to).toISOString()],
  );
  const complete = new Map<number, KlineRow>();
  const incomplete = new Set<number>();
  for (const r of rows) {
    const openTime = Number(r.open_time);
    if (r.is_complete !== true) {
      incomplete.add(openTime);
      continue;
    }
    complete.set(openTime, { openTime, closeTime: Number(r.close_time), ...klineValues(r) });
  }
  return { complete, incomplete };
}

/** The mismatch table `tickflow verify` prints: minute (ISO, UTC), field, ours, theirs. */
export function mismatchTable(mismatches: readonly Mismatch[]): string {
  const rows = [['minute', 'field', 'ours', 'theirs'], ...mismatches.map((m) => [new Date(m.minute).toISOString().slice(0, 16), m.field, m.ours, m.theirs])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Klines of a data.binance.vision file (zip or CSV), checked against its .CHECKSUM when present. */
export async function klinesFromFile(path: string, market: Market): Promise<KlineRow[]> {
  const file = describeFile(path);
  if (file.kind !== 'klines') throw new TickflowError(ErrorCodes.IMPORT_REJECTED, `${file.name} holds ${file.kind}, not klines`);
  const { bytes } = await readVerified(file);
  const rows: KlineRow[] = [];
  for (const e of recordsOf(file, csvText(file, bytes), market, 0)) if (e.type === 'kline') rows.push(e);
  return rows;
}

/** 1m klines of `symbol` with open times in [from, to) from Binance's REST API. */
export async function klinesFromRest(client: BinanceRestClient, symbol: string, from: number, to: number): Promise<KlineRow[]> {
  const rows: KlineRow[] = [];
  for await (const page of client.klineRange(symbol, '1m', from, to - 1, 60_000)) rows.push(...page.items);
  return rows;
}
