import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { AggTradeEvent, KlineEvent, Market, TradeEvent } from '../../../core/events.js';
import { ErrorCodes, TickflowError } from '../../../core/errors.js';
import { FieldError } from '../parse.js';
import { klineEventFromRow, klineFromRow } from '../rest-parse.js';
import { readZip, type ZipEntry, ZipError } from './zip.js';

/**
 * data.binance.vision files (https://github.com/binance/binance-public-data): daily and monthly
 * `SYMBOL-<interval>-DATE` klines, `SYMBOL-aggTrades-DATE` and `SYMBOL-trades-DATE`, each a zip
 * holding one CSV, published with `<file>.CHECKSUM` (`<sha256>  <file>`). Spot CSVs have no
 * header, USD-M CSVs do; spot files from 2025 on stamp times in microseconds (read back to ms).
 */

export type VisionKind = 'klines' | 'aggTrades' | 'trades';

/**
 * One data.binance.vision file (`BTCUSDT-trades-2024-08-09.zip`) as its name describes it: kind,
 * symbol, kline interval, and the period it covers (epoch ms).
 */
export interface VisionFile {
  readonly path: string;
  readonly name: string;
  readonly kind: VisionKind;
  readonly symbol: string;
  /** Kline interval (`1m`), for klines only. */
  readonly interval?: string;
  /**
   * The day (`…-2024-08-08`) or month (`…-2024-08`) the name says the file holds: [from, to) in
   * epoch ms, UTC. A row outside it is refused: it would overwrite a row of another day's file.
   */
  readonly period: { readonly from: number; readonly to: number; readonly label: string };
}

/** What a data.binance.vision file's rows become: trades, aggTrades or klines. */
export type VisionEvent = TradeEvent | AggTradeEvent | KlineEvent;

const NAME = /^([A-Z0-9]+)-(aggTrades|trades|\d+[smhdwM])-(\d{4})-(\d{2})(?:-(\d{2}))?(?:[._].*)?\.(zip|csv)$/;

function rejected(message: string, cause?: unknown): TickflowError {
  return new TickflowError(ErrorCodes.IMPORT_REJECTED, message, cause === undefined ? {} : { cause });
}

/** What a file holds, from its data.binance.vision name. Throws TF_IMPORT_REJECTED for other names. */
export function describeFile(path: string): VisionFile {
  const name = basename(path);
  const m = NAME.exec(name);
  if (m === null)
    throw rejected(`${name}: not a data.binance.vision klines/aggTrades/trades file name (SYMBOL-1m-2024-08-08.zip, SYMBOL-aggTrades-…, SYMBOL-trades-…)`);
  const what = m[2] as string;
  const period = periodOf(name, Number(m[3]), Number(m[4]), m[5] === undefined ? undefined : Number(m[5]));
  if (what === 'aggTrades' || what === 'trades') return { path, name, kind: what, symbol: m[1] as string, period };
  return { path, name, kind: 'klines', symbol: m[1] as string, interval: what, period };
}

/** [from, to) of a daily or a monthly file; a date that does not exist (2024-02-30) is refused. */
function periodOf(name: string, year: number, month: number, day: number | undefined): VisionFile['period'] {
  const from = Date.UTC(year, month - 1, day ?? 1);
  const start = new Date(from);
  if (month < 1 || month > 12 || (day !== undefined && start.getUTCDate() !== day)) throw rejected(`${name}: the date in the file name does not exist`);
  const to = day === undefined ? Date.UTC(year, month, 1) : from + 86_400_000;
  return { from, to, label: start.toISOString().slice(0, day === undefined ? 7 : 10) };
}

/** The file's bytes and sha256; checked against `<path>.CHECKSUM` when that file exists. */
export async function readVerified(file: VisionFile): Promise<{ bytes: Buffer; sha256: string; checksum: 'verified' | 'absent' }> {
  const bytes = await readFile(file.path).catch((err: unknown) => {
    throw rejected(`${file.name}: cannot read ${file.path}`, err);
  });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let published: string;
  try {
    published = await readFile(`${file.path}.CHECKSUM`, 'utf8');
  } catch {
    return { bytes, sha256, checksum: 'absent' };
  }
  const expected = /^([0-9a-f]{64})\b/i.exec(published.trim())?.[1]?.toLowerCase();
  if (expected === undefined) throw rejected(`${file.name}.CHECKSUM does not start with a sha256`);
  if (expected !== sha256)
    throw rejected(`${file.name}: sha256 ${sha256} does not match ${file.name}.CHECKSUM (${expected}); the file is damaged or not the one published`);
  return { bytes, sha256, checksum: 'verified' };
}

/** The CSV text of a file: the one CSV inside a zip, or the file itself. */
export function csvText(file: VisionFile, bytes: Buffer): string {
  if (!file.name.endsWith('.zip')) return bytes.toString('utf8');
  let entries: ZipEntry[];
  try {
    entries = readZip(bytes);
  } catch (err) {
    if (err instanceof ZipError) throw rejected(`${file.name}: ${err.message}`, err);
    throw err;
  }
  const csv = entries.filter((e) => e.name.endsWith('.csv'));
  if (csv.length !== 1) throw rejected(`${file.name}: expected one CSV inside, found ${csv.length}`);
  return (csv[0] as { data: Buffer }).data.toString('utf8');
}

/**
 * The records of a CSV, one per data line (a header line is skipped). Throws TF_IMPORT_REJECTED
 * naming the line for a row that does not have the file kind's fields.
 */
export function* recordsOf(file: VisionFile, text: string, market: Market, ingestionTimestamp: number): Generator<VisionEvent> {
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo += 1;
    const trimmed = line.trim();
    if (trimmed === '' || (lineNo === 1 && !/^\d/.test(trimmed))) continue;
    try {
      yield record(file, trimmed.split(','), market, ingestionTimestamp);
    } catch (err) {
      if (err instanceof FieldError) throw rejected(`${file.name}:${lineNo}: ${err.message}: "${trimmed.slice(0, 80)}"`, err);
      throw err;
    }
  }
}

function record(file: VisionFile, f: string[], market: Market, at: number): VisionEvent {
  const event = parseRecord(file, f, market, at);
  const time = event.type === 'kline' ? event.openTime : event.tradeTime;
  if (time < file.period.from || time >= file.period.to) {
    throw new FieldError(
      `time ${time} (epoch ms) is outside ${file.period.label}, the ${file.period.label.length === 10 ? 'day' : 'month'} the file name says it holds`,
    );
  }
  return event;
}

function parseRecord(file: VisionFile, f: string[], market: Market, at: number): VisionEvent {
  const base = { exchange: 'binance' as const, market, symbol: file.symbol, ingestionTimestamp: at };
  if (file.kind === 'klines') return klineEventFromRow(klineFromRow(f), base, file.interval as string, at);
  if (file.kind === 'aggTrades') {
    // agg_trade_id, price, quantity, first_trade_id, last_trade_id, transact_time, is_buyer_maker[, is_best_match]
    if (f.length < 7) throw new FieldError(`an aggTrades row has 7 or 8 fields, this one ${f.length}`);
    const time = millis(f[5], 'transact_time');
    return {
      ...base,
      type: 'aggTrade',
      eventTime: time,
      aggTradeId: id(f[0], 'agg_trade_id'),
      price: dec(f[1], 'price'),
      quantity: dec(f[2], 'quantity'),
      firstTradeId: id(f[3], 'first_trade_id'),
      lastTradeId: id(f[4], 'last_trade_id'),
      tradeTime: time,
      buyerIsMaker: flag(f[6], 'is_buyer_maker'),
    };
  }
  // id, price, qty, quote_qty, time, is_buyer_maker[, is_best_match]
  if (f.length < 6) throw new FieldError(`a trades row has 6 or 7 fields, this one ${f.length}`);
  const time = millis(f[4], 'time');
  return {
    ...base,
    type: 'trade',
    eventTime: time,
    tradeId: id(f[0], 'id'),
    price: dec(f[1], 'price'),
    quantity: dec(f[2], 'qty'),
    tradeTime: time,
    buyerIsMaker: flag(f[5], 'is_buyer_maker'),
  };
}

function id(v: string | undefined, name: string): number {
  if (v === undefined || !/^\d{1,16}$/.test(v)) throw new FieldError(`"${name}" is not an id`);
  return Number(v);
}

/** Epoch ms; 16-digit values are the microseconds of 2025+ spot files. */
function millis(v: string | undefined, name: string): number {
  const n = id(v, name);
  return n > 1e14 ? Math.floor(n / 1_000) : n;
}

function dec(v: string | undefined, name: string): string {
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v)) throw new FieldError(`"${name}" is not a decimal`);
  return v;
}

function flag(v: string | undefined, name: string): boolean {
  const lower = v?.toLowerCase();
  if (lower !== 'true' && lower !== 'false') throw new FieldError(`"${name}" is not true/false`);
  return lower === 'true';
}
