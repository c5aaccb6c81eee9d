import { exchangeTime, type Instrument, type MarketEvent } from '../core/events.js';
import { InstrumentMap } from '../core/instrument-map.js';

const RATE_WINDOW_S = 10;
const LATENCY_SAMPLES = 2_048;

/** Messages per second of one instrument's stream (`trade`, `bookTicker`, …) and its last event time (epoch ms). */
export interface StreamRate extends Instrument {
  readonly stream: string;
  /** Mean over the last 10 whole seconds (or the stream's age, when younger). */
  readonly messagesPerSecond: number;
  readonly lastEventAt: number;
}

/** Ingest latency (receive time − exchange event time), ms, p50 and p99 over the recent events; null with no samples. */
export interface LatencySummary {
  readonly p50: number | null;
  readonly p99: number | null;
  readonly samples: number;
}

interface RateCounter {
  /** Counts per whole second, ring of RATE_WINDOW_S + 1 slots. */
  readonly slots: number[];
  second: number;
  /** The first second counted: a stream younger than the window is averaged over its age. */
  readonly firstSecond: number;
  lastEventAt: number;
}

/**
 * Rates and ingest latency (ingestion time − exchange event time) of the events the live feed
 * sees, so the dashboard's pipeline panel works without a metrics server. Latency is kept as the
 * last 2,048 samples per stream (exact quantiles of recent traffic, not histogram buckets).
 */
export class LiveStats {
  /** Per instrument, per stream type. */
  private readonly rates = new InstrumentMap<Map<string, RateCounter>>();
  private readonly latency = new Map<string, { values: Float64Array; next: number; count: number }>();

  record(event: MarketEvent, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    let streams = this.rates.get(event);
    if (!streams) {
      streams = new Map();
      this.rates.set(event, streams);
    }
    let rate = streams.get(event.type);
    if (!rate) {
      rate = { slots: new Array<number>(RATE_WINDOW_S + 1).fill(0), second, firstSecond: second, lastEventAt: nowMs };
      streams.set(event.type, rate);
    }
    advance(rate, second);
    const slot = second % rate.slots.length;
    rate.slots[slot] = (rate.slots[slot] ?? 0) + 1;
    rate.lastEventAt = nowMs;

    // Spot bookTicker carries no exchange time (eventTime is the ingestion time): no latency.
    if (event.type === 'bookTicker' && event.market === 'spot') return;
    let ring = this.latency.get(event.type);
    if (!ring) {
      ring = { values: new Float64Array(LATENCY_SAMPLES), next: 0, count: 0 };
      this.latency.set(event.type, ring);
    }
    // A frame cannot arrive before it was sent: below zero only the local clock is behind the
    // exchange's (by NTP's error), and a negative latency would be shown to the user as a fact.
    ring.values[ring.next] = Math.max(0, event.ingestionTimestamp / 1000 - exchangeTime(event));
    ring.next = (ring.next + 1) % LATENCY_SAMPLES;
    ring.count = Math.min(ring.count + 1, LATENCY_SAMPLES);
  }

  streamRates(nowMs: number): StreamRate[] {
    const second = Math.floor(nowMs / 1000);
    const out: StreamRate[] = [];
    for (const [{ exchange, market, symbol }, streams] of this.rates.entries()) {
      for (const [stream, rate] of streams) out.push(streamRate(exchange, market, symbol, stream, rate, second));
    }
    return out.sort(
      (a, b) =>
        a.symbol.localeCompare(b.symbol) || a.market.localeCompare(b.market) || a.exchange.localeCompare(b.exchange) || a.stream.localeCompare(b.stream),
    );
  }

  /** Ingest latency in ms over all streams, and per stream type. */
  ingestLatency(): { all: LatencySummary; byStream: Record<string, LatencySummary> } {
    const byStream: Record<string, LatencySummary> = {};
    const all: number[] = [];
    for (const [stream, ring] of this.latency) {
      const values = Array.from(ring.values.subarray(0, ring.count));
      all.push(...values);
      byStream[stream] = summarize(values);
    }
    return { all: summarize(all), byStream };
  }
}

/** One stream's mean rate over the whole seconds before `second`. */
function streamRate(exchange: string, market: string, symbol: string, stream: string, rate: RateCounter, second: number): StreamRate {
  advance(rate, second);
  // Whole seconds before the current one, so a half-elapsed second does not halve the rate.
  const span = Math.min(RATE_WINDOW_S, second - rate.firstSecond);
  let sum = 0;
  for (let i = 1; i <= span; i++) sum += rate.slots[(second - i) % rate.slots.length] ?? 0;
  return { exchange, market, symbol, stream, messagesPerSecond: span > 0 ? sum / span : 0, lastEventAt: rate.lastEventAt };
}

function advance(rate: RateCounter, second: number): void {
  if (second <= rate.second) return;
  const span = Math.min(second - rate.second, rate.slots.length);
  for (let i = 1; i <= span; i++) rate.slots[(rate.second + i) % rate.slots.length] = 0;
  rate.second = second;
}

function summarize(values: number[]): LatencySummary {
  if (values.length === 0) return { p50: null, p99: null, samples: 0 };
  values.sort((a, b) => a - b);
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), samples: values.length };
}

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: number[], q: number): number {
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}
