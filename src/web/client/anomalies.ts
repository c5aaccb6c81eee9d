import type { LiveAnomaly, LiveGap } from '../../api/contract.js';
import { clock } from './tape.js';

const MAX_ITEMS = 50;
const LABELS: Record<string, string> = {
  volatility: 'volatility',
  volumeSpike: 'volume spike',
  priceMove: 'price move',
  spreadWarning: 'spread warning',
  gap: 'gap',
};

/** One line of the dashboard's event list: an anomaly or a gap, with its time (epoch ms) and text. */
export type AnomalyItem = Pick<LiveAnomaly, 'kind' | 'time' | 'message'> | { kind: 'gap'; time: number; message: string };

/** A gap as an anomaly line; a stored one (/api/gaps) also says how healing ended. */
export function gapItem(g: Pick<LiveGap, 'stream' | 'firstMissingId' | 'lastMissingId' | 'time' | 'reason'> & { healStatus?: string | null }): AnomalyItem {
  const missing = g.lastMissingId - g.firstMissingId + 1;
  const healed = g.healStatus ? `, ${g.healStatus}` : '';
  return { kind: 'gap', time: g.time, message: `${missing} ${g.stream} id(s) missing (${g.firstMissingId}–${g.lastMissingId}, ${g.reason}${healed})` };
}

/** Volatility, volume spike, price move and spread warnings, and gaps, newest first. */
export class AnomalyList {
  constructor(private readonly list: HTMLElement) {}

  load(items: readonly AnomalyItem[]): void {
    this.list.replaceChildren();
    this.add([...items].sort((a, b) => a.time - b.time));
  }

  add(items: readonly AnomalyItem[]): void {
    this.list.querySelector('.empty')?.remove();
    for (const item of items) this.list.prepend(entry(item));
    while (this.list.childElementCount > MAX_ITEMS) this.list.lastElementChild?.remove();
    if (this.list.childElementCount === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'none so far';
      this.list.append(li);
    }
  }
}

function entry(item: AnomalyItem): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.kind = item.kind;
  const time = document.createElement('time');
  time.dateTime = new Date(item.time).toISOString();
  time.textContent = clock(item.time);
  const kind = document.createElement('span');
  kind.className = 'kind';
  kind.textContent = LABELS[item.kind] ?? item.kind;
  const text = document.createElement('span');
  text.textContent = item.message;
  li.append(time, kind, text);
  return li;
}
