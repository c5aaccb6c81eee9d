import type { ApiTrade, LiveTrade } from '../../api/contract.js';
import { fixed, type Precision } from './format.js';

const MAX_ROWS = 80;

/** `HH:MM:SS` (UTC) of epoch ms, as the tape and event lists print times. */
export const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** One window of the processor's trade metrics: taker buy and sell base volume (decimal strings). */
export interface PressureWindow {
  /** Window start, epoch ms. */
  readonly time: number;
  /** The window length as the processor names it (`1m`). */
  readonly interval: string;
  readonly buyVolume: string;
  readonly sellVolume: string;
}

/**
 * The trade tape (newest on top, whales highlighted), with prices and quantities printed to the
 * symbol's tick and lot step so the columns line up; and the buy/sell pressure bar, which shows
 * the processor's trade metrics for the newest window (the same numbers as /api/metrics/trades),
 * labelled with that window.
 */
export class Tape {
  private window: PressureWindow | null = null;
  private precision: Precision = { price: 2, quantity: 0, tick: null };

  constructor(
    private readonly body: HTMLElement,
    private readonly pressure: HTMLElement,
  ) {}

  /** Decimals of the rows to come (set before `load`). */
  setPrecision(precision: Precision): void {
    this.precision = precision;
  }

  load(trades: readonly ApiTrade[]): void {
    this.body.replaceChildren(...trades.slice(0, MAX_ROWS).map((t) => this.row(t)));
  }

  add(trades: readonly (LiveTrade | ApiTrade)[]): void {
    if (trades.length === 0) return;
    this.body.prepend(
      ...trades
        .slice(-MAX_ROWS)
        .reverse()
        .map((t) => this.row(t)),
    );
    while (this.body.childElementCount > MAX_ROWS) this.body.lastElementChild?.remove();
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

  /** A metric window from the API or the stream; an older window than the one shown is ignored. */
  setPressure(window: PressureWindow | null): void {
    if (window && this.window && window.time < this.window.time) return;
    this.window = window;
    this.renderPressure();
  }

  private renderPressure(): void {
    const [buyBar, sellBar, label] = this.pressure.children as unknown as [HTMLElement, HTMLElement, HTMLElement];
    const w = this.window;
    const buy = w ? +w.buyVolume : 0;
    const sell = w ? +w.sellVolume : 0;
    if (!w || buy + sell === 0) {
      buyBar.style.flex = '1';
      sellBar.style.flex = '1';
      label.textContent = w ? `no trades in the ${w.interval} window from ${clock(w.time).slice(0, 5)}` : 'no trade metrics yet';
      delete this.pressure.dataset.buyShare;
      return;
    }
    // A share for the eye: floats are fine here, the volumes themselves stay exact strings.
    const share = buy / (buy + sell);
    buyBar.style.flex = String(share);
    sellBar.style.flex = String(1 - share);
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    label.textContent = `buy ${pct(share)} · sell ${pct(1 - share)} (${w.interval} from ${clock(w.time).slice(0, 5)} UTC)`;
    this.pressure.title = `taker buy ${w.buyVolume} · taker sell ${w.sellVolume} (processor trade metrics)`;
    this.pressure.dataset.buyShare = share.toFixed(4);
    this.pressure.dataset.window = String(w.time);
  }

  private row(t: LiveTrade | ApiTrade): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.className = `${t.buyerIsMaker ? 'sell' : 'buy'}${t.whale ? ' whale' : ''}`;
    tr.dataset.id = String(t.id);
    for (const text of [clock(t.time), fixed(t.price, this.precision.price), fixed(t.quantity, this.precision.quantity)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    if (t.whale) tr.title = `whale: ${(+t.price * +t.quantity).toLocaleString('en-US', { maximumFractionDigits: 0 })} notional`;
    return tr;
  }
}
