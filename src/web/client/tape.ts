import type { LiveTrade } from '../../api/live-messages.js';
import type { TradeRow } from './api.js';

const MAX_ROWS = 80;
const PRESSURE_WINDOW_MS = 60_000;

export const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/**
 * The trade tape (newest on top, whales highlighted) and the buy/sell pressure bar: taker buy
 * vs taker sell volume over the last minute of trades (`buyerIsMaker` means the taker sold).
 */
export class Tape {
  private recent: { time: number; quantity: number; buy: boolean }[] = [];

  constructor(
    private readonly body: HTMLElement,
    private readonly pressure: HTMLElement,
  ) {}

  load(trades: readonly TradeRow[]): void {
    this.body.replaceChildren(...trades.slice(0, MAX_ROWS).map(row));
    this.recent = [];
    for (const t of [...trades].reverse()) this.count(t);
    this.renderPressure();
  }

  add(trades: readonly (LiveTrade | TradeRow)[]): void {
    if (trades.length === 0) return;
    this.body.prepend(...trades.slice(-MAX_ROWS).reverse().map(row));
    for (const t of trades) this.count(t);
    while (this.body.childElementCount > MAX_ROWS) this.body.lastElementChild?.remove();
    this.renderPressure();
  }

  /** The server left trades out because this tab was too slow to take them. */
  skipped(count: number): void {
    const tr = document.createElement('tr');
    tr.className = 'dropped';
    const td = document.createElement('td');
    td.colSpan = 3;
    td.textContent = `… ${count} trades skipped`;
    tr.append(td);
    this.body.prepend(tr);
  }

  private count(t: { time: number; quantity: string; buyerIsMaker: boolean }): void {
    this.recent.push({ time: t.time, quantity: +t.quantity, buy: !t.buyerIsMaker });
    const newest = this.recent.at(-1)?.time ?? 0;
    const cut = this.recent.findIndex((r) => r.time >= newest - PRESSURE_WINDOW_MS);
    if (cut > 0) this.recent.splice(0, cut);
  }

  private renderPressure(): void {
    let buy = 0;
    let sell = 0;
    for (const r of this.recent) {
      if (r.buy) buy += r.quantity;
      else sell += r.quantity;
    }
    const share = buy + sell > 0 ? buy / (buy + sell) : 0.5;
    const [buyBar, sellBar, label] = this.pressure.children as unknown as [HTMLElement, HTMLElement, HTMLElement];
    buyBar.style.flex = String(share);
    sellBar.style.flex = String(1 - share);
    label.textContent = `buy ${Math.round(share * 100)}% · sell ${Math.round((1 - share) * 100)}% (1 min)`;
    this.pressure.dataset.buyShare = share.toFixed(4);
  }
}

function row(t: LiveTrade | TradeRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.className = `${t.buyerIsMaker ? 'sell' : 'buy'}${t.whale ? ' whale' : ''}`;
  tr.dataset.id = String(t.id);
  for (const text of [clock(t.time), trimZeros(t.price), trimZeros(t.quantity)]) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  if (t.whale) tr.title = `whale: ${(+t.price * +t.quantity).toLocaleString('en-US', { maximumFractionDigits: 0 })} notional`;
  return tr;
}

/** "61235.50000000" → "61235.50": the same exact value, narrower; at least two decimals stay. */
function trimZeros(decimal: string): string {
  return decimal.includes('.') ? decimal.replace(/(\.\d\d\d*?)0+$/, '$1') : decimal;
}
