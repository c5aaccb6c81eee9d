import {
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  LineSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { LiveCandle } from '../../api/live-messages.js';
import type { CandleRow } from './api.js';

interface Bar {
  time: UTCTimestamp;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** The processor's final row: nothing the stream sends can improve it. */
  final: boolean;
}

const UP = '#26a69a';
const DOWN = '#ef5350';
const AVERAGE_COLORS = ['#42a5f5', '#ab47bc', '#ffa726', '#66bb6a', '#ec407a', '#26c6da'];

export const chartTheme = {
  layout: { background: { type: ColorType.Solid, color: '#171b22' }, textColor: '#8a93a0', attributionLogo: false },
  grid: { vertLines: { color: '#20252e' }, horzLines: { color: '#20252e' } },
  rightPriceScale: { borderColor: '#262c36' },
  timeScale: { borderColor: '#262c36', timeVisible: true, secondsVisible: false, rightOffset: 4 },
  autoSize: true,
} as const;

const toSeconds = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/**
 * The last 120 points fill the width; from 20 to 120 are spread over it; fewer keep the width of
 * 60 (a handful stretched across the chart reads badly), the newest a little off the right edge.
 */
export function showRecent(chart: IChartApi, count: number): void {
  const timeScale = chart.timeScale();
  if (count >= 20 && count <= 120) timeScale.fitContent();
  else timeScale.setVisibleLogicalRange({ from: count - (count > 120 ? 120 : 60), to: count + 3 });
}

/**
 * Candles with volume bars, VWAP and the processor's moving averages. History comes from
 * /api/candles; the stream then sends two kinds of updates for the same windows: the processor's
 * rows (authoritative, every trigger interval, with averages) and the API's live candle (every
 * trade, but `partial` for the window it started in). A final processor row replaces the bar and
 * is never overwritten; a live candle that saw its window open replaces OHLCV; a partial live
 * candle or a non-final row only widens the bar (high/low, close, larger volume), so a restart
 * mid-window does not shrink a bar loaded from the database.
 */
export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private readonly vwap: ISeriesApi<'Line'>;
  private readonly averages = new Map<string, ISeriesApi<'Line'>>();
  private bars = new Map<number, Bar>();
  private lastTime = 0;
  private precision = -1;

  constructor(
    private readonly container: HTMLElement,
    private readonly legend: HTMLElement,
  ) {
    this.chart = createChart(container, chartTheme);
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, { priceScaleId: 'volume', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false });
    this.chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.vwap = this.chart.addSeries(LineSeries, { color: '#f0b90b', lineWidth: 1, lineStyle: 2, title: 'VWAP', lastValueVisible: false, priceLineVisible: false });
  }

  load(rows: readonly CandleRow[]): void {
    this.bars = new Map();
    this.precision = -1;
    this.fitPrecision(rows.flatMap((r) => [r.open, r.high, r.low, r.close]));
    for (const r of rows) {
      const time = toSeconds(r.time);
      this.bars.set(time, { time, open: +r.open, high: +r.high, low: +r.low, close: +r.close, volume: +r.volume, final: r.final });
    }
    const bars = [...this.bars.values()];
    this.lastTime = bars.at(-1)?.time ?? 0;
    this.candles.setData(bars.map(ohlc));
    this.volume.setData(bars.map(volumeBar));
    this.vwap.setData(rows.filter((r) => r.vwap !== null).map((r) => ({ time: toSeconds(r.time), value: +(r.vwap as string) })));
    for (const series of this.averages.values()) this.chart.removeSeries(series);
    this.averages.clear();
    const names = [...new Set(rows.flatMap((r) => Object.keys(r.averages)))].sort();
    for (const name of names) {
      const points = rows.flatMap((r) => {
        const v = r.averages[name];
        return v === null || v === undefined ? [] : [{ time: toSeconds(r.time), value: +v }];
      });
      this.averageSeries(name).setData(points);
    }
    showRecent(this.chart, bars.length);
    this.renderLegend(names);
    this.publishState();
  }

  apply(c: LiveCandle): void {
    const time = toSeconds(c.time);
    const existing = this.bars.get(time);
    if (time < this.lastTime && !existing) return; // older than the chart: not worth a historical insert
    if (existing?.final && !(c.source === 'processor' && c.final)) return;
    this.fitPrecision([c.open, c.high, c.low, c.close]);
    const incoming: Bar = { time, open: +c.open, high: +c.high, low: +c.low, close: +c.close, volume: +c.volume, final: c.final };
    const replaces = !existing || c.final || (c.source === 'live' && !c.partial);
    const bar: Bar = replaces
      ? incoming
      : {
          ...existing,
          high: Math.max(existing.high, incoming.high),
          low: Math.min(existing.low, incoming.low),
          close: incoming.close,
          volume: Math.max(existing.volume, incoming.volume),
        };
    this.bars.set(time, bar);
    const historical = time < this.lastTime;
    this.lastTime = Math.max(this.lastTime, time);
    this.candles.update(ohlc(bar), historical);
    this.volume.update(volumeBar(bar), historical);
    if (!existing && this.bars.size < 20) showRecent(this.chart, this.bars.size);
    if (c.source === 'processor') {
      if (c.vwap) this.vwap.update({ time, value: +c.vwap }, historical);
      for (const [name, value] of Object.entries(c.averages ?? {})) {
        if (value !== null) this.averageSeries(name).update({ time, value: +value }, historical);
      }
    }
    this.publishState();
  }

  /**
   * Shows as many decimals as the exchange's prices carry (trailing zeros aside, at most 8), so
   * 0.00004321 does not print as 0.00.
   */
  private fitPrecision(prices: readonly string[]): void {
    let precision = Math.max(this.precision, 2);
    for (const p of prices) {
      const fraction = p.split('.')[1]?.replace(/0+$/, '') ?? '';
      precision = Math.max(precision, Math.min(fraction.length, 8));
    }
    if (precision === this.precision) return;
    this.precision = precision;
    const priceFormat = { type: 'price' as const, precision, minMove: 10 ** -precision };
    this.candles.applyOptions({ priceFormat });
    this.vwap.applyOptions({ priceFormat });
    for (const series of this.averages.values()) series.applyOptions({ priceFormat });
  }

  private averageSeries(name: string): ISeriesApi<'Line'> {
    let series = this.averages.get(name);
    if (!series) {
      const color = AVERAGE_COLORS[this.averages.size % AVERAGE_COLORS.length] as string;
      const precision = Math.max(this.precision, 2);
      series = this.chart.addSeries(LineSeries, {
        color, lineWidth: 1, title: name.toUpperCase(), lastValueVisible: false, priceLineVisible: false,
        priceFormat: { type: 'price', precision, minMove: 10 ** -precision },
      });
      this.averages.set(name, series);
    }
    return series;
  }

  private renderLegend(averages: readonly string[]): void {
    this.legend.replaceChildren(
      ...[['VWAP', '#f0b90b'] as const, ...averages.map((n, i) => [n.toUpperCase(), AVERAGE_COLORS[i % AVERAGE_COLORS.length] as string] as const)].map(
        ([label, color]) => {
          const item = document.createElement('i');
          item.textContent = label;
          item.style.color = color;
          return item;
        },
      ),
    );
  }

  /** Read by people with devtools and by the browser tests: what the chart shows right now. */
  private publishState(): void {
    const last = this.bars.get(this.lastTime);
    this.container.dataset.bars = String(this.bars.size);
    this.container.dataset.last = last ? JSON.stringify({ time: last.time * 1000, open: last.open, high: last.high, low: last.low, close: last.close, volume: last.volume }) : '';
  }
}

function ohlc(b: Bar) {
  return { time: b.time, open: b.open, high: b.high, low: b.low, close: b.close };
}

function volumeBar(b: Bar) {
  return { time: b.time, value: b.volume, color: b.close >= b.open ? 'rgba(38,166,154,.45)' : 'rgba(239,83,80,.45)' };
}
