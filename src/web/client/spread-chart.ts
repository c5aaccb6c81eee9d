import { LineSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { LiveBookTicker } from '../../api/live-messages.js';
import { chartTheme, showRecent } from './candle-chart.js';

/** Spread in basis points of the mid price. */
export function spreadBps(bid: number, ask: number): number {
  const mid = (bid + ask) / 2;
  return mid > 0 ? ((ask - bid) / mid) * 10_000 : 0;
}

/**
 * The bid/ask spread in bps: the processor's windowed average (history and metric updates) and
 * the live spread of every book ticker, one point per second (the latest wins).
 */
export class SpreadChart {
  private readonly chart: IChartApi;
  private readonly average: ISeriesApi<'Line'>;
  private readonly live: ISeriesApi<'Line'>;
  private lastLive = 0;
  private lastAverage = 0;
  private points = 0;

  constructor(container: HTMLElement) {
    this.chart = createChart(container, chartTheme);
    const format = { type: 'price' as const, precision: 2, minMove: 0.01 };
    this.live = this.chart.addSeries(LineSeries, { color: '#5c6b80', lineWidth: 1, priceFormat: format, title: 'live', priceLineVisible: false });
    this.average = this.chart.addSeries(LineSeries, { color: '#f0b90b', lineWidth: 2, priceFormat: format, title: 'avg', priceLineVisible: false });
  }

  load(points: readonly { time: number; bps: number }[]): void {
    const data = points.map((p) => ({ time: Math.floor(p.time / 1000) as UTCTimestamp, value: p.bps }));
    this.average.setData(data);
    this.live.setData([]);
    this.lastAverage = data.at(-1)?.time ?? 0;
    this.lastLive = 0;
    this.points = data.length;
    showRecent(this.chart, this.points);
  }

  addAverage(time: number, bps: number): void {
    const t = Math.floor(time / 1000) as UTCTimestamp;
    if (t < this.lastAverage) return;
    this.lastAverage = t;
    this.average.update({ time: t, value: bps });
    this.grew();
  }

  /** Keeps few points readable; from 20 on, the user's zoom is left alone. */
  private grew(): void {
    this.points += 1;
    if (this.points < 20) showRecent(this.chart, this.points);
  }

  addBookTicker(b: LiveBookTicker): void {
    const t = Math.floor(b.time / 1000) as UTCTimestamp;
    if (t < this.lastLive) return;
    if (t > this.lastLive) this.grew();
    this.lastLive = t;
    this.live.update({ time: t, value: spreadBps(+b.bidPrice, +b.askPrice) });
  }
}
