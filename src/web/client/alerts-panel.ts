/**
 * The alerts panel: what fires now (with its rule, value and threshold) and the recent transitions
 * (firing, still firing, resolved), from GET /api/alerts, polled. Self-contained so that the rest of
 * the dashboard only mounts it.
 */
import type { AlertsResponse } from '../../api/contract.js';
import { getJson } from './api.js';

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);

function item(className: string, cells: readonly string[], title?: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = className;
  if (title) li.title = title;
  for (const text of cells) {
    const span = document.createElement('span');
    span.textContent = text;
    li.append(span);
  }
  return li;
}

function render(root: HTMLElement, r: AlertsResponse): void {
  const firing = document.createElement('ul');
  firing.className = 'events alerts-firing';
  for (const a of r.firing) {
    const li = item('alert-firing', [time(a.activeAt), a.rule, `${a.instrument?.symbol ?? a.key}: ${a.value ?? 'no data'} (threshold ${a.threshold})`]);
    li.dataset.rule = a.rule;
    firing.append(li);
  }
  if (r.firing.length === 0) firing.append(item('alert-none', ['', r.engine ? 'nothing firing' : 'alerts disabled', '']));
  const history = document.createElement('ul');
  history.className = 'events alerts-history';
  for (const h of r.history.slice(0, 30)) {
    const li = item(`alert-${h.state}`, [time(h.at), `${h.rule} ${h.state === 'repeat' ? 'still firing' : h.state}`, h.message], h.message);
    li.dataset.rule = h.rule;
    li.dataset.state = h.state;
    history.append(li);
  }
  root.replaceChildren(firing, history);
}

/** Polls /api/alerts into `root` every `everyMs`. */
export function mountAlertsPanel(root: HTMLElement, everyMs = 5_000): void {
  const poll = async (): Promise<void> => {
    try {
      render(root, await getJson('/api/alerts', { limit: 30 }));
      delete root.dataset.error;
    } catch {
      root.dataset.error = 'unreachable';
    }
  };
  void poll();
  setInterval(() => void poll(), everyMs);
}
