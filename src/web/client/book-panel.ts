import { add, compare, formatDecimal, parseDecimal, toNumber, ZERO, type Dec } from '../../core/decimal.js';
import type { BookResponse } from '../../api/contract.js';
import { getJson } from './api.js';
import { fixed, type Precision } from './format.js';

/** One ladder row: a level and the quantity of it and every better level of its side, exactly. */
interface Level {
  readonly price: string;
  readonly qty: string;
  readonly total: Dec;
}

const LEVELS = 15;
const POLL_MS = 1_000;
const SVG = 'http://www.w3.org/2000/svg';

function cumulative(side: readonly (readonly [string, string])[]): Level[] {
  let total = ZERO;
  return side.map(([price, qty]) => {
    total = add(total, parseDecimal(qty));
    return { price, qty, total };
  });
}

/**
 * The order book panel: a depth ladder (asks above, best ask at the bottom; bids below, best bid
 * on top; each row's bar is its side's cumulative quantity) and a cumulative depth chart (SVG
 * step areas, bids left of the spread, asks right). It polls GET /api/book for the instrument
 * the page shows; cumulative quantities are summed exactly from the decimal strings.
 */
export class BookPanel {
  private readonly ladder: HTMLTableSectionElement;
  private readonly chart: SVGSVGElement;
  private readonly status: HTMLElement;
  private timer: number | null = null;
  private generation = 0;

  constructor(
    root: HTMLElement,
    private readonly instrument: () => { exchange: string; market: string; symbol: string },
    private readonly precision: () => Precision,
  ) {
    this.status = document.createElement('p');
    this.status.className = 'book-status';
    const table = document.createElement('table');
    table.className = 'ladder';
    table.innerHTML = '<thead><tr><th>Price</th><th>Qty</th><th>Total</th></tr></thead>';
    this.ladder = document.createElement('tbody');
    table.append(this.ladder);
    this.chart = document.createElementNS(SVG, 'svg');
    this.chart.classList.add('depth-chart');
    this.chart.setAttribute('viewBox', '0 0 300 120');
    this.chart.setAttribute('preserveAspectRatio', 'none');
    this.chart.setAttribute('role', 'img');
    this.chart.setAttribute('aria-label', 'cumulative depth');
    root.replaceChildren(this.status, table, this.chart);
  }

  /** Polls now and then every second (again from now on after an instrument switch). */
  start(): void {
    if (this.timer !== null) clearInterval(this.timer);
    void this.refresh();
    this.timer = window.setInterval(() => void this.refresh(), POLL_MS);
  }

  private async refresh(): Promise<void> {
    const mine = ++this.generation;
    const instrument = this.instrument();
    let body: BookResponse | null = null;
    try {
      body = await getJson('/api/book', { ...instrument, depth: LEVELS });
    } catch {
      // The server is away: the pipeline panel and the connection badge say so.
    }
    if (mine !== this.generation) return;
    if (body === null || body.source === 'none' || body.updateId === null || body.time === null) {
      this.status.textContent = body === null ? 'order book unavailable' : 'no order book yet (it needs the depth stream)';
      this.ladder.replaceChildren();
      this.chart.replaceChildren();
      return;
    }
    this.render({ ...body, updateId: body.updateId, time: body.time }, instrument.symbol);
  }

  private render(body: BookResponse & { updateId: number; time: number }, symbol: string): void {
    const bids = cumulative(body.bids);
    const asks = cumulative(body.asks);
    const deepest = [bids.at(-1)?.total ?? ZERO, asks.at(-1)?.total ?? ZERO].reduce((a, b) => (compare(a, b) >= 0 ? a : b));
    const scale = toNumber(deepest) || 1;
    const p = this.precision();
    const row = (side: 'bid' | 'ask', l: Level) => {
      const tr = document.createElement('tr');
      tr.className = side;
      tr.dataset.side = side;
      tr.dataset.price = l.price;
      tr.dataset.qty = l.qty;
      const total = formatDecimal(l.total);
      tr.dataset.total = total;
      for (const text of [fixed(l.price, p.price), fixed(l.qty, p.quantity), fixed(total, p.quantity)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      // The bar behind the row: cumulative depth relative to the deeper side's total.
      tr.style.setProperty('--depth', `${((toNumber(l.total) / scale) * 100).toFixed(1)}%`);
      return tr;
    };
    this.ladder.replaceChildren(...[...asks].reverse().map((l) => row('ask', l)), ...bids.map((l) => row('bid', l)));
    this.ladder.dataset.symbol = symbol;
    this.ladder.dataset.updateId = String(body.updateId);
    this.status.textContent = `${body.source === 'live' ? 'live' : 'stored'} · update ${body.updateId} · ${new Date(body.time).toISOString().slice(11, 19)} UTC`;
    this.drawDepth(bids, asks, scale);
  }

  /** Step areas over price: x from the deepest bid to the deepest ask shown, y = cumulative quantity. */
  private drawDepth(bids: readonly Level[], asks: readonly Level[], scale: number): void {
    const lowest = bids.at(-1)?.price;
    const highest = asks.at(-1)?.price;
    if (lowest === undefined || highest === undefined) {
      this.chart.replaceChildren();
      return;
    }
    const lo = +lowest;
    const span = +highest - lo || 1;
    const x = (price: string) => (((+price - lo) / span) * 300).toFixed(2);
    const y = (total: Dec) => (120 - (toNumber(total) / scale) * 115).toFixed(2);
    const area = (levels: readonly Level[], side: 'bid' | 'ask') => {
      const first = levels[0] as Level;
      // A step: each level's cumulative quantity holds from its price out to the next level's.
      let d = `M${x(first.price)},120`;
      let previous = '120';
      for (const l of levels) {
        d += ` L${x(l.price)},${previous} L${x(l.price)},${y(l.total)}`;
        previous = y(l.total);
      }
      const last = levels[levels.length - 1] as Level;
      d += ` L${side === 'bid' ? 0 : 300},${y(last.total)} L${side === 'bid' ? 0 : 300},120 Z`;
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', d);
      path.setAttribute('class', side);
      path.dataset.side = side;
      return path;
    };
    this.chart.replaceChildren(area(bids, 'bid'), area(asks, 'ask'));
  }
}
