import { LineSeries, createChart, type AutoscaleInfo, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { LiveBookTicker } from '../../api/contract.js';
import { chartOptions, showRecent } from './candle-chart.js';

/** Spread in basis points of the mid price. */
export function spreadBps(bid: number, ask: number): number {
  const mid = (bid + ask) / 2;
  return mid > 0 ? ((ask - bid) / mid) * 10_000 : 0;
}

/** A spread is never negative: the axis starts at 0 however the autoscaler would pad it. */
function fromZero(original: () => AutoscaleInfo | null): AutoscaleInfo | null {
  const info = original();
  if (!info?.priceRange) return info;
  return { ...info, priceRange: { minValue: Math.max(0, info.priceRange.minValue), maxValue: info.priceRange.maxValue } };
}

/**
 * The bid/ask spread in bps: the processor's windowed average (history and metric updates) and
 * the live spread of every book ticker, one point per second (the latest wins). Time labels show
 * seconds (the live points are a second apart); the value axis starts at 0 and shows as many
 * decimals as one price tick needs (`setPrecision`).
 */
export class SpreadChart {
  private readonly chart: IChartApi;
  private readonly average: ISeriesApi<'Line'>;
  private readonly live: ISeriesApi<'Line'>;
  private lastLive = 0;
  private lastAverage = 0;
  private points = 0;

  constructor(private readonly container: HTMLElement) {
    const options = chartOptions(container);
    this.chart = createChart(container, { ...options, timeScale: { ...options.timeScale, secondsVisible: true } });
    this.chart.priceScale('right').applyOptions({ scaleMargins: { top: 0.15, bottom: 0 } });
    this.live = this.chart.addSeries(LineSeries, { color: '#5c6b80', lineWidth: 1, title: 'live', priceLineVisible: false, autoscaleInfoProvider: fromZero });
    this.average = this.chart.addSeries(LineSeries, { color: '#f0b90b', lineWidth: 2, title: 'avg', priceLineVisible: false, autoscaleInfoProvider: fromZero });
    this.setPrecision(2);
  }

  /** Decimals of the bps axis and labels (see bpsDecimals). */
  setPrecision(decimals: number): void {
    const priceFormat = { type: 'price' as const, precision: decimals, minMove: 10 ** -decimals };
    this.live.applyOptions({ priceFormat });
    this.average.applyOptions({ priceFormat });
    this.container.dataset.precision = String(decimals);
  }

  load(points: readonly { time: number; bps: number }[]): void {
    const data = points.map((p) => ({ time: Math.floor(p.time / 1000) as UTCTimestamp, value: p.bps }));
    this.average.setData(data);
    this.live.setData([]);
    this.lastAverage = data.at(-1)?.time ?? 0;
    this.lastLive = 0;
    this.points = data.length;
    showRecent(this.chart, this.points);
    this.publishRange();
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
    this.publishRange();
  }

  addBookTicker(b: LiveBookTicker): void {
    const t = Math.floor(b.time / 1000) as UTCTimestamp;
    if (t < this.lastLive) return;
    if (t > this.lastLive) this.grew();
    this.lastLive = t;
    this.live.update({ time: t, value: spreadBps(+b.bidPrice, +b.askPrice) });
  }

  /** For the browser tests: the value range the axis shows, once painted. */
  private publishRange(): void {
    requestAnimationFrame(() => {
      const range = this.chart.priceScale('right').getVisibleRange();
      this.container.dataset.range = range ? JSON.stringify(range) : '';
    });
  }
}
