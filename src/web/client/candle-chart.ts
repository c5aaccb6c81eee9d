import {
  CandlestickSeries,
  ColorType,
  HistogramSeries,
  LineSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type LogicalRange,
  type TickMarkType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { ApiCandle, LiveCandle } from '../../api/contract.js';
import { formatTick } from './format.js';

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

/** Tick labels kept for `data-ticks` (a few screens' worth). */
const MAX_PUBLISHED_TICKS = 200;

/**
 * The dashboard's chart options. Time labels come from formatTick (UTC, a date at a day boundary,
 * seconds where ticks fall between minutes). The axis is a canvas, so for the browser tests the
 * labels made so far are published as the container's `data-ticks` (JSON `[time s, label][]`; the
 * chart caches labels, so a paint formats only new tick marks).
 */
export function chartOptions(container: HTMLElement) {
  const labels = new Map<number, string>();
  let flush = 0;
  return {
    layout: { background: { type: ColorType.Solid, color: '#171b22' }, textColor: '#8a93a0', attributionLogo: false },
    grid: { vertLines: { color: '#20252e' }, horzLines: { color: '#20252e' } },
    rightPriceScale: { borderColor: '#262c36' },
    timeScale: {
      borderColor: '#262c36',
      timeVisible: true,
      secondsVisible: false,
      rightOffset: 4,
      tickMarkFormatter: (time: Time, type: TickMarkType) => {
        const label = formatTick(time, type);
        labels.set(time as number, label);
        // A live chart formats new ticks for as long as it runs: keep the recent ones only.
        if (labels.size > MAX_PUBLISHED_TICKS) labels.delete(labels.keys().next().value as number);
        if (flush === 0) {
          flush = requestAnimationFrame(() => {
            container.dataset.ticks = JSON.stringify([...labels]);
            flush = 0;
          });
        }
        return label;
      },
    },
    localization: { timeFormatter: (time: Time) => new Date((time as UTCTimestamp) * 1000).toISOString().slice(0, 19).replace('T', ' ') },
    autoSize: true,
  } as const;
}

const toSeconds = (ms: number) => Math.floor(ms / 1000) as UTCTimestamp;

/** At most this many bars fill the width on load; older ones are a scroll away. */
const VISIBLE_BARS = 150;

/** The loaded points fill the width (the newest `VISIBLE_BARS` of more), the newest a little off the right edge. */
export function showRecent(chart: IChartApi, count: number): void {
  chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, count - VISIBLE_BARS) - 0.5, to: count - 1 + 4 });
}

/** Candles before `before` (epoch ms, exclusive), oldest first; an empty answer means there are none. */
export type OlderCandles = (before: number) => Promise<readonly ApiCandle[]>;

/** Scrolled to within this many bars of the oldest loaded one, the next page is asked for. */
const PAGE_AHEAD_BARS = 10;

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
  /** VWAP and each moving average by bar time, kept to redraw them when older bars are prepended. */
  private vwapPoints = new Map<number, number>();
  private averagePoints = new Map<string, Map<number, number>>();
  private lastTime = 0;
  private precision = -1;
  /** Where older candles come from; set by the page for the instrument and interval shown. */
  private older: OlderCandles | null = null;
  private paging: Promise<void> | null = null;
  /** The server had nothing before the oldest bar. */
  private exhausted = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly legend: HTMLElement,
  ) {
    this.chart = createChart(container, chartOptions(container));
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    this.vwap = this.chart.addSeries(LineSeries, {
      color: '#f0b90b',
      lineWidth: 1,
      lineStyle: 2,
      title: 'VWAP',
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.timeScale().subscribeVisibleLogicalRangeChange(this.onRangeChange);
  }

  /**
   * Shows `rows` (the newest page, oldest first) fitted to the width. `older` pages earlier candles
   * in when the user scrolls back to the oldest loaded bar.
   */
  load(rows: readonly ApiCandle[], older: OlderCandles | null = null): void {
    this.bars = new Map();
    this.vwapPoints = new Map();
    this.averagePoints = new Map();
    this.precision = -1;
    this.older = older;
    this.paging = null;
    this.exhausted = false;
    this.addRows(rows);
    this.lastTime = [...this.bars.keys()].at(-1) ?? 0;
    for (const series of this.averages.values()) this.chart.removeSeries(series);
    this.averages.clear();
    this.redraw();
    showRecent(this.chart, this.bars.size);
    this.renderLegend([...this.averagePoints.keys()]);
    this.publishState();
  }

  private addRows(rows: readonly ApiCandle[]): void {
    this.fitPrecision(rows.flatMap((r) => [r.open, r.high, r.low, r.close]));
    for (const r of rows) {
      const time = toSeconds(r.time);
      this.bars.set(time, { time, open: +r.open, high: +r.high, low: +r.low, close: +r.close, volume: +r.volume, final: r.final });
      if (r.vwap !== null) this.vwapPoints.set(time, +r.vwap);
      for (const [name, v] of Object.entries(r.averages)) {
        if (!this.averagePoints.has(name)) this.averagePoints.set(name, new Map());
        if (v !== null && v !== undefined) this.averagePoints.get(name)?.set(time, +v);
      }
    }
    // Map order is insertion order: a prepended page goes first again.
    this.bars = new Map([...this.bars].sort(([a], [b]) => a - b));
    this.averagePoints = new Map([...this.averagePoints].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Every series from the kept points (after a load or a prepended page). */
  private redraw(): void {
    const bars = [...this.bars.values()];
    this.candles.setData(bars.map(ohlc));
    this.volume.setData(bars.map(volumeBar));
    const line = (points: Map<number, number>) => [...points].sort(([a], [b]) => a - b).map(([time, value]) => ({ time: time as UTCTimestamp, value }));
    this.vwap.setData(line(this.vwapPoints));
    for (const [name, points] of this.averagePoints) this.averageSeries(name).setData(line(points));
  }

  /** The visible range reached the oldest bars: ask for the page before them, once at a time. */
  private onRangeChange = (range: LogicalRange | null): void => {
    this.container.dataset.visible = range ? JSON.stringify({ from: range.from, to: range.to }) : '';
    if (!range || range.from > PAGE_AHEAD_BARS || !this.older || this.exhausted || this.paging || this.bars.size === 0) return;
    const older = this.older;
    const oldest = [...this.bars.keys()][0] as number;
    this.paging = older(oldest * 1000)
      .then((rows) => {
        // The page shown changed while this one was on its way.
        if (this.older !== older) return;
        const before = this.bars.size;
        this.addRows(rows.filter((r) => toSeconds(r.time) < oldest));
        const added = this.bars.size - before;
        if (added === 0) {
          this.exhausted = true;
          return;
        }
        const visible = this.chart.timeScale().getVisibleLogicalRange();
        this.redraw();
        // Bars are indexed from the oldest: shift the view by what was prepended so it stays put.
        if (visible) this.chart.timeScale().setVisibleLogicalRange({ from: visible.from + added, to: visible.to + added });
        this.publishState();
      })
      .catch(() => undefined)
      .finally(() => {
        if (this.older === older) this.paging = null;
      });
  };

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
    // update() keeps the user's zoom and scroll: a new bar never refits the chart.
    this.candles.update(ohlc(bar), historical);
    this.volume.update(volumeBar(bar), historical);
    if (c.source === 'processor') {
      if (c.vwap) {
        this.vwapPoints.set(time, +c.vwap);
        this.vwap.update({ time, value: +c.vwap }, historical);
      }
      for (const [name, value] of Object.entries(c.averages ?? {})) {
        if (value === null) continue;
        if (!this.averagePoints.has(name)) this.averagePoints.set(name, new Map());
        this.averagePoints.get(name)?.set(time, +value);
        this.averageSeries(name).update({ time, value: +value }, historical);
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
        color,
        lineWidth: 1,
        title: name.toUpperCase(),
        lastValueVisible: false,
        priceLineVisible: false,
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
    const range = this.chart.timeScale().getVisibleLogicalRange();
    this.container.dataset.bars = String(this.bars.size);
    this.container.dataset.oldest = String(([...this.bars.keys()][0] ?? 0) * 1000);
    this.container.dataset.visible = range ? JSON.stringify({ from: range.from, to: range.to }) : '';
    this.container.dataset.last = last
      ? JSON.stringify({ time: last.time * 1000, open: last.open, high: last.high, low: last.low, close: last.close, volume: last.volume })
      : '';
  }
}

function ohlc(b: Bar) {
  return { time: b.time, open: b.open, high: b.high, low: b.low, close: b.close };
}

function volumeBar(b: Bar) {
  return { time: b.time, value: b.volume, color: b.close >= b.open ? 'rgba(38,166,154,.45)' : 'rgba(239,83,80,.45)' };
}
