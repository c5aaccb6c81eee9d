import { type BookTickerEvent, instrumentKey, type PipelineEvent, type TradeEvent } from '../../src/core/events.js';
import { topicOf } from '../../src/bus/bus.js';
import { configSchema } from '../../src/config/schema.js';
import { type CoreInput, ProcessorCore, type ProcessorOptions, type Upsert } from '../../src/processors/processor-core.js';

/** The processor's defaults, with overrides. */
export function processorOptions(overrides: Partial<ProcessorOptions> = {}): ProcessorOptions {
  return { ...configSchema.parse({}).processor, tradeStream: 'trade', ...overrides };
}

/** Bus-like inputs: one partition per topic, offsets counting from 0, as the MemoryBus assigns them. */
export function asInputs(events: readonly PipelineEvent[]): CoreInput[] {
  const next = new Map<string, bigint>();
  return events.map((event) => {
    const source = `${topicOf(event)}/0`;
    const offset = next.get(source) ?? 0n;
    next.set(source, offset + 1n);
    return { source, offset, event };
  });
}

type RowOf = { [U in Upsert as U['table']]: U['row'] };

/** What the tables would hold: the last upsert per key, never a partial over a final. */
export class TableImage {
  readonly rows = new Map<string, Upsert>();

  apply(upserts: readonly Upsert[]): void {
    for (const u of upserts) {
      const key = keyOf(u);
      const existing = this.rows.get(key);
      if (existing && 'isFinal' in existing.row && existing.row.isFinal && 'isFinal' in u.row && !u.row.isFinal) continue;
      if (existing && (u.table === 'whale_trades' || u.table === 'late_events')) continue;
      this.rows.set(key, u);
    }
  }

  of<T extends Upsert['table']>(table: T): RowOf[T][] {
    return [...this.rows.values()].filter((u) => u.table === table).map((u) => u.row as RowOf[T]);
  }
}

function keyOf(u: Upsert): string {
  switch (u.table) {
    case 'candles':
    case 'trade_metrics':
    case 'spread_metrics':
      return `${u.table}|${instrumentKey(u.row)}|${u.row.interval}|${u.row.windowStart}`;
    case 'whale_trades':
      return `${u.table}|${instrumentKey(u.row)}|${u.row.tradeId}`;
    case 'late_events':
      return `${u.table}|${u.row.source}|${u.row.offset}|${u.row.target}`;
  }
}

/** Runs events through a fresh core to the end of input and returns the resulting table image. */
export function runToEnd(options: ProcessorOptions, events: readonly PipelineEvent[]): TableImage {
  const core = new ProcessorCore(options);
  const image = new TableImage();
  image.apply(core.ingest(asInputs(events)).upserts);
  image.apply(core.finish());
  return image;
}

/** A hand-made trade for hand-checked values. */
export function trade(tradeId: number, tradeTime: number, price: string, quantity: string, takerBuy = true, symbol = 'BTCUSDT'): TradeEvent {
  return {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: tradeTime,
    ingestionTimestamp: tradeTime * 1000,
    tradeId,
    price,
    quantity,
    tradeTime,
    buyerIsMaker: !takerBuy,
  };
}

/** A hand-made top-of-book update. */
export function quote(updateId: number, eventTime: number, bidPrice: string, askPrice: string, symbol = 'BTCUSDT'): BookTickerEvent {
  return {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime,
    ingestionTimestamp: eventTime * 1000,
    updateId,
    bidPrice,
    bidQty: '1',
    askPrice,
    askQty: '1',
  };
}
