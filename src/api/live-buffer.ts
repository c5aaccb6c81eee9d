import { instrumentKey } from '../core/events.js';
import type { LiveCandle, LiveMessage, SymbolMessage } from './contract.js';

/** How much one /api/stream client may have pending, in messages, beyond the coalesced state messages. */
export interface BufferLimits {
  /** Trades kept for a client that is not reading; older ones are dropped and counted. */
  readonly maxTrades: number;
  /** Anomalies and gaps kept likewise. */
  readonly maxEvents: number;
}

/** 500 trades and 200 anomalies/gaps per client (README "Live stream", back-pressure). */
export const DEFAULT_BUFFER_LIMITS: BufferLimits = { maxTrades: 500, maxEvents: 200 };

/**
 * One client's pending messages, bounded whatever the client's speed: state-like messages
 * (book ticker, candle, metric) coalesce so the latest per key wins; trades and events are capped
 * and the overflow is counted into one `dropped` marker. The newest trades are kept because the
 * tape shows the newest.
 */
export class CoalescingBuffer {
  private trades: SymbolMessage[] = [];
  private events: SymbolMessage[] = [];
  private latest = new Map<string, SymbolMessage>();
  private droppedTrades = 0;
  private droppedEvents = 0;

  constructor(private readonly limits: BufferLimits = DEFAULT_BUFFER_LIMITS) {}

  push(message: SymbolMessage): void {
    switch (message.type) {
      case 'trade':
        this.droppedTrades += appendCapped(this.trades, message, this.limits.maxTrades);
        return;
      case 'anomaly':
      case 'gap':
        this.droppedEvents += appendCapped(this.events, message, this.limits.maxEvents);
        return;
      case 'bookTicker':
        this.latest.set(`b:${instrumentKey(message)}`, message);
        return;
      case 'metric':
        this.latest.set(`m:${instrumentKey(message)}:${message.kind}`, message);
        return;
      case 'candle':
        this.pushCandle(message);
        return;
    }
  }

  /**
   * Latest per instrument, interval and source wins — except that the last update of the window it
   * replaces is kept in a second slot, so a slow client still sees how the previous candle closed.
   */
  private pushCandle(candle: LiveCandle): void {
    const key = `c:${instrumentKey(candle)}:${candle.interval}:${candle.source}`;
    const pending = this.latest.get(key) as LiveCandle | undefined;
    if (pending && pending.time < candle.time) this.latest.set(`${key}:prev`, pending);
    if (pending && pending.time > candle.time) return;
    this.latest.set(key, candle);
  }

  get size(): number {
    return this.trades.length + this.events.length + this.latest.size;
  }

  /** Everything pending, oldest first within each kind; empties the buffer. */
  take(): LiveMessage[] {
    const out: LiveMessage[] = [];
    if (this.droppedTrades > 0 || this.droppedEvents > 0) {
      out.push({ type: 'dropped', trades: this.droppedTrades, events: this.droppedEvents });
      this.droppedTrades = 0;
      this.droppedEvents = 0;
    }
    // By time, so a closed candle (the `:prev` slot) arrives before the window that replaced it.
    const keyed = [...this.latest.values()].sort((a, b) => a.time - b.time);
    out.push(...this.trades, ...this.events, ...keyed);
    this.trades = [];
    this.events = [];
    this.latest = new Map();
    return out;
  }
}

function appendCapped(list: SymbolMessage[], message: SymbolMessage, max: number): number {
  list.push(message);
  if (list.length <= max) return 0;
  const excess = list.length - max;
  list.splice(0, excess);
  return excess;
}
