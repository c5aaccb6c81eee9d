import type { Instrument } from './events.js';

interface Entry<V> {
  readonly instrument: Instrument;
  value: V;
}

/**
 * Values keyed by instrument identity (exchange, market, symbol) without building a string key per
 * lookup: per-event state (the processor's windows, the live feed's candles and rates) is looked up
 * for every event, and `instrumentKey` allocated a string each time. Entries are found by symbol,
 * then by exchange and market among the few instruments sharing that symbol (spot and USD-M).
 */
export class InstrumentMap<V> {
  private readonly bySymbol = new Map<string, Entry<V>[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(instrument: Instrument): V | undefined {
    return this.entry(instrument)?.value;
  }

  /** Sets the value; the map keeps its own copy of the identity fields, not `instrument` itself. */
  set(instrument: Instrument, value: V): this {
    const found = this.entry(instrument);
    if (found) {
      found.value = value;
      return this;
    }
    const entry: Entry<V> = { instrument: { exchange: instrument.exchange, market: instrument.market, symbol: instrument.symbol }, value };
    const list = this.bySymbol.get(instrument.symbol);
    if (list) list.push(entry);
    else this.bySymbol.set(instrument.symbol, [entry]);
    this.count++;
    return this;
  }

  delete(instrument: Instrument): boolean {
    const list = this.bySymbol.get(instrument.symbol);
    const at = list?.findIndex((e) => e.instrument.exchange === instrument.exchange && e.instrument.market === instrument.market) ?? -1;
    if (!list || at < 0) return false;
    list.splice(at, 1);
    if (list.length === 0) this.bySymbol.delete(instrument.symbol);
    this.count--;
    return true;
  }

  *values(): IterableIterator<V> {
    for (const list of this.bySymbol.values()) for (const e of list) yield e.value;
  }

  /** [instrument, value] pairs, in insertion order per symbol. */
  *entries(): IterableIterator<[Instrument, V]> {
    for (const list of this.bySymbol.values()) for (const e of list) yield [e.instrument, e.value];
  }

  private entry(instrument: Instrument): Entry<V> | undefined {
    const list = this.bySymbol.get(instrument.symbol);
    if (list === undefined) return undefined;
    for (const e of list) if (e.instrument.exchange === instrument.exchange && e.instrument.market === instrument.market) return e;
    return undefined;
  }
}
