import './styles.css';
import type { ApiCandle, ApiResponses, ApiTrade, LiveCandle, LiveMessage, MarketId, SymbolInfo } from '../../api/contract.js';
import { AnomalyList, gapItem, type AnomalyItem } from './anomalies.js';
import { BookPanel } from './book-panel.js';
import { getJson, streamUrl } from './api.js';
import { CandleChart } from './candle-chart.js';
import { mountAlertsPanel } from './alerts-panel.js';
import { bpsDecimals, fixed, stepDecimals, type Precision } from './format.js';
import { renderPipeline } from './pipeline-panel.js';
import { SpreadChart, spreadBps } from './spread-chart.js';
import { Tape } from './tape.js';

const $ = (id: string) => document.getElementById(id) as HTMLElement;

const chart = new CandleChart($('chart'), $('legend'));
const spread = new SpreadChart($('spread-chart'));
const tape = new Tape($('tape'), $('pressure'));
const anomalies = new AnomalyList($('anomalies'));
const book = new BookPanel(
  $('book'),
  () => instrumentParams(),
  () => precision,
);

const state = {
  /** `exchange:market` of the market shown, e.g. `binance:usdm`. */
  market: '',
  symbol: '',
  interval: '',
  instruments: [] as readonly SymbolInfo[],
  intervals: [] as readonly string[],
};

const marketKey = (m: MarketId): string => `${m.exchange}:${m.market}`;

function currentMarket(): MarketId {
  const [exchange = '', market = ''] = state.market.split(':');
  return { exchange, market };
}

/**
 * The instruments offered: those with data. A configured symbol the run never received (ETHUSDT
 * after a BTCUSDT-only replay) has nothing to show; it appears once its first trade is stored
 * (pollPipeline asks again when a stream starts). With no data at all yet (a fresh start) the
 * configured ones are offered, so the page shows what is coming.
 */
function offered(): SymbolInfo[] {
  const withData = state.instruments.filter((i) => i.hasData);
  return withData.length > 0 ? withData : state.instruments.filter((i) => i.configured);
}

/** Markets with instruments, labelled by market alone unless several exchanges are present. */
function marketChoices(): string[] {
  return [...new Set(offered().map(marketKey))];
}

function symbolsOf(market: string): string[] {
  return offered()
    .filter((i) => marketKey(i) === market)
    .map((i) => i.symbol);
}

/** The shown instrument's exchangeInfo rules, when the server has them. */
function rulesOf(): SymbolInfo | undefined {
  return state.instruments.find((i) => marketKey(i) === state.market && i.symbol === state.symbol);
}

/** Decimals of the shown symbol: its tick and lot step, else the finest of the values seen. */
let precision: Precision = { price: 2, quantity: 0, tick: null };

function fitPrecision(trades: readonly ApiTrade[]): void {
  const rules = rulesOf();
  precision = {
    price: stepDecimals(
      rules?.tickSize,
      trades.map((t) => t.price),
      2,
    ),
    quantity: stepDecimals(
      rules?.stepSize,
      trades.map((t) => t.quantity),
    ),
    tick: rules?.tickSize !== undefined ? +rules.tickSize : null,
  };
  if (precision.tick === null && trades.length > 0) precision = { ...precision, tick: 10 ** -precision.price };
  tape.setPrecision(precision);
  const first = trades[0];
  spread.setPrecision(bpsDecimals(precision.tick, first ? +first.price : 0));
}

/** The query parameters naming the shown instrument. */
function instrumentParams(): { exchange: string; market: string; symbol: string } {
  return { ...currentMarket(), symbol: state.symbol };
}
/** Bumped on every reload so answers to superseded requests are dropped. */
let generation = 0;
let stream: EventSource | null = null;
/**
 * The newest streamed candle per interval and source, for every interval (the stream carries them
 * all), so switching interval shows the forming candle at once instead of at the next trade.
 */
let streamedCandles = new Map<string, LiveCandle>();

function loadCandles(rows: readonly ApiCandle[]): void {
  const instrument = instrumentParams();
  const interval = state.interval;
  // Older pages of the same instrument and interval, through /api/candles (`to` is exclusive).
  const older = async (before: number) => (await getJson('/api/candles', { ...instrument, interval, to: before, limit: CANDLE_PAGE })).candles;
  chart.load(rows, older);
  for (const c of streamedCandles.values()) if (c.interval === state.interval) chart.apply(c);
}

const CANDLE_PAGE = 500;

function writeHash(): void {
  history.replaceState(null, '', `#${state.market}/${state.symbol}/${state.interval}`);
  document.body.dataset.market = state.market;
  document.body.dataset.symbol = state.symbol;
  document.body.dataset.interval = state.interval;
  $('chart').dataset.market = state.market;
  $('chart').dataset.symbol = state.symbol;
  $('chart').dataset.interval = state.interval;
}

function renderSwitcher(root: HTMLElement, values: readonly string[], current: string, choose: (v: string) => void, label = (v: string) => v): void {
  root.replaceChildren(
    ...values.map((v) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label(v);
      b.dataset.value = v;
      b.setAttribute('aria-pressed', String(v === current));
      b.addEventListener('click', () => choose(v));
      return b;
    }),
  );
}

function renderSwitchers(): void {
  const markets = marketChoices();
  const exchanges = new Set(state.instruments.map((i) => i.exchange));
  renderSwitcher(
    $('markets'),
    markets,
    state.market,
    (m) => {
      if (m === state.market) return;
      state.market = m;
      const symbols = symbolsOf(m);
      // The same symbol on the other market when it trades there (BTCUSDT spot → BTCUSDT perpetual).
      if (!symbols.includes(state.symbol)) state.symbol = symbols[0] ?? '';
      streamedCandles = new Map();
      renderSwitchers();
      void reload().then(connectStream);
    },
    (m) => (exchanges.size > 1 ? m.replace(':', ' ') : (m.split(':')[1] ?? m)),
  );
  renderSwitcher($('symbols'), symbolsOf(state.market), state.symbol, (s) => {
    if (s === state.symbol) return;
    state.symbol = s;
    streamedCandles = new Map();
    renderSwitchers();
    void reload().then(connectStream);
  });
  renderSwitcher($('intervals'), state.intervals, state.interval, (i) => {
    if (i === state.interval) return;
    state.interval = i;
    renderSwitchers();
    void reloadCandles();
  });
  writeHash();
}

async function reloadCandles(): Promise<void> {
  const mine = ++generation;
  const { candles } = await getJson('/api/candles', { ...instrumentParams(), interval: state.interval, limit: CANDLE_PAGE });
  if (mine === generation) loadCandles(candles);
}

async function optional<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await p;
  } catch {
    return fallback;
  }
}

async function reloadAll(): Promise<void> {
  const mine = ++generation;
  const instrument = instrumentParams();
  const [candles, trades, pressure, spreads, found, gaps] = await Promise.all([
    getJson('/api/candles', { ...instrument, interval: state.interval, limit: CANDLE_PAGE }),
    getJson('/api/trades', { ...instrument, limit: 80 }),
    optional(getJson('/api/metrics/trades', { ...instrument, limit: 1 }), { metrics: [] }),
    optional(getJson('/api/metrics/spreads', { ...instrument, limit: 500 }), { metrics: [] }),
    optional(getJson('/api/anomalies', { ...instrument, limit: 50 }), { anomalies: [] }),
    optional(getJson('/api/gaps', { ...instrument, limit: 20 }), { gaps: [] }),
  ]);
  if (mine !== generation) return;
  loadCandles(candles.candles);
  fitPrecision(trades.trades);
  tape.load(trades.trades);
  tape.setPressure(null);
  tape.setPressure(pressure.metrics.at(-1) ?? null);
  const last = trades.trades[0];
  lastPrice = last?.price ?? '';
  renderQuote();
  spread.load(spreads.metrics.map((m) => ({ time: m.time, bps: m.avgSpreadBps })));
  anomalies.load([...found.anomalies, ...gaps.gaps.map(gapItem)]);
  document.body.dataset.loaded = String(Date.now());
}

/** The last reload failed (server away): the next stream `hello` reloads even if it is the first. */
let stale = false;

async function reload(): Promise<void> {
  try {
    await reloadAll();
    stale = false;
  } catch {
    stale = true;
  }
}

let lastPrice = '';
let quote: { bid: string; ask: string } | null = null;

function renderQuote(): void {
  const price = (p: string) => fixed(p, precision.price);
  const parts: [string, string][] = [['last', lastPrice ? price(lastPrice) : '–']];
  if (quote) {
    const bps = spreadBps(+quote.bid, +quote.ask);
    parts.push(['bid', price(quote.bid)], ['ask', price(quote.ask)], ['spread', `${bps.toFixed(bpsDecimals(precision.tick, +quote.bid))} bps`]);
  }
  $('quote').replaceChildren(
    ...parts.map(([label, value]) => {
      const span = document.createElement('span');
      span.append(`${label} `);
      const b = document.createElement('b');
      b.textContent = value;
      span.append(b);
      return span;
    }),
  );
}

function handle(batch: readonly LiveMessage[]): void {
  const trades = [];
  const events: AnomalyItem[] = [];
  for (const m of batch) {
    if (m.type !== 'dropped' && (m.symbol !== state.symbol || marketKey(m) !== state.market)) continue;
    switch (m.type) {
      case 'trade':
        trades.push(m);
        lastPrice = m.price;
        break;
      case 'candle':
        streamedCandles.set(`${m.interval}:${m.source}`, m);
        if (m.interval === state.interval) chart.apply(m);
        break;
      case 'bookTicker':
        quote = { bid: m.bidPrice, ask: m.askPrice };
        spread.addBookTicker(m);
        break;
      case 'metric':
        if (m.kind === 'spread' && typeof m.values.avgSpreadBps === 'number') spread.addAverage(m.time, m.values.avgSpreadBps);
        if (m.kind === 'trades') {
          const { interval, buyVolume, sellVolume } = m.values;
          if (typeof buyVolume === 'string' && typeof sellVolume === 'string')
            tape.setPressure({ time: m.time, interval: String(interval), buyVolume, sellVolume });
        }
        break;
      case 'anomaly':
        events.push(m);
        break;
      case 'gap':
        events.push(gapItem(m));
        break;
      case 'dropped':
        if (m.trades > 0) tape.skipped(m.trades);
        break;
    }
  }
  tape.add(trades);
  anomalies.add(events);
  renderQuote();
}

/** The source has nothing more to send (a replay read to its end): the page is not "live". */
let sourceFinished = false;

function setConnection(s: 'connecting' | 'open' | 'reconnecting' | 'down'): void {
  const el = $('connection');
  el.dataset.state = s;
  el.dataset.finished = String(sourceFinished);
  el.textContent = s === 'open' ? (sourceFinished ? 'replay finished' : 'live') : s;
}

/**
 * EventSource reconnects by itself while the server is away; the `hello` it receives after that
 * means we may have missed data, so the panels reload. When the server answered with an error
 * (e.g. 503 while shutting down), EventSource gives up: we start a new one.
 */
function connectStream(): void {
  stream?.close();
  const es = new EventSource(streamUrl(currentMarket(), [state.symbol]));
  stream = es;
  let greeted = false;
  setConnection('connecting');
  es.addEventListener('hello', () => {
    setConnection('open');
    if (greeted || stale) void reload();
    greeted = true;
  });
  es.onmessage = (e: MessageEvent<string>) => handle(JSON.parse(e.data) as LiveMessage[]);
  es.onerror = () => {
    if (stream !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      setConnection('down');
      setTimeout(() => {
        if (stream === es) void reload().then(connectStream);
      }, 2_000);
    } else {
      setConnection('reconnecting');
    }
  };
}

async function pollPipeline(): Promise<void> {
  try {
    const report = await getJson('/api/pipeline');
    renderPipeline($('pipeline'), report);
    const finished = report.source?.finished === true;
    if (finished !== sourceFinished) {
      sourceFinished = finished;
      setConnection(($('connection').dataset.state ?? 'connecting') as Parameters<typeof setConnection>[0]);
    }
    // Trades of an instrument not offered yet: its first data arrived, ask which have data now
    // (hasData means stored trades, so other streams alone would ask again every poll).
    const known = new Set(offered().map((i) => `${marketKey(i)}/${i.symbol}`));
    const trading = report.streams.filter((s) => s.stream === 'trade' || s.stream === 'aggTrade');
    if (trading.some((s) => !known.has(`${marketKey(s)}/${s.symbol}`))) await refreshInstruments();
  } catch {
    $('pipeline').dataset.error = 'unreachable';
  }
}

async function refreshInstruments(): Promise<void> {
  const info = await getJson('/api/symbols');
  state.instruments = info.symbols;
  renderSwitchers();
}

async function start(): Promise<void> {
  let info: ApiResponses['/api/symbols'] | undefined;
  while (!info) {
    try {
      info = await getJson('/api/symbols');
    } catch {
      setConnection('down');
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
  state.instruments = info.symbols;
  state.intervals = info.intervals;
  // #market/symbol/interval, e.g. #binance:usdm/BTCUSDT/1m (older links: #symbol/interval).
  const parts = decodeURIComponent(location.hash.slice(1)).split('/');
  const [hashMarket, hashSymbol, hashInterval] = parts.length >= 3 ? parts : [undefined, ...parts];
  const markets = marketChoices();
  state.market =
    markets.find((m) => m === hashMarket) ?? (markets.includes(marketKey(info.defaultMarket)) ? marketKey(info.defaultMarket) : (markets[0] ?? ''));
  const symbols = symbolsOf(state.market);
  const configured = offered().find((s) => s.configured && marketKey(s) === state.market)?.symbol;
  state.symbol = symbols.find((s) => s === hashSymbol?.toUpperCase()) ?? configured ?? symbols[0] ?? '';
  state.interval = state.intervals.find((i) => i === hashInterval) ?? state.intervals[0] ?? '1m';
  renderSwitchers();
  await reload();
  connectStream();
  book.start();
  void pollPipeline();
  setInterval(() => void pollPipeline(), 2_000);
  mountAlertsPanel($('alerts'));
}

void start();
