import type { PipelineReport } from '../../api/pipeline.js';

const fmt = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? '–' : n.toFixed(digits));

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function table(head: readonly string[], rows: readonly (readonly (string | HTMLElement)[])[]): HTMLTableElement {
  const t = el('table');
  const tr = el('tr');
  for (const h of head) tr.append(el('th', h));
  t.append(el('thead'), el('tbody'));
  t.tHead?.append(tr);
  for (const r of rows) {
    const row = el('tr');
    for (const cell of r) {
      const td = el('td');
      td.append(cell);
      row.append(td);
    }
    t.tBodies[0]?.append(row);
  }
  return t;
}

function fact(label: string, value: string): HTMLElement {
  const span = el('span', `${label} `);
  span.append(el('b', value));
  return span;
}

/** Connection state per stream connection, msgs/s, gaps, dead letters, ingest latency, consumer lag. */
export function renderPipeline(root: HTMLElement, p: PipelineReport): void {
  const lag = p.bus.consumerLag;
  const facts = el('div', undefined, 'facts');
  facts.append(
    fact('source', p.source?.kind ?? 'none'),
    fact('bus', p.bus.kind),
    fact('ingest p50', `${fmt(p.ingestLatencyMs.p50)} ms`),
    fact('p99', `${fmt(p.ingestLatencyMs.p99)} ms`),
    fact('gaps', String(p.store.gaps ?? '–')),
    fact('dead letters', String(p.store.deadLetters ?? '–')),
    fact('store', p.store.reachable ? p.store.kind : 'unreachable'),
  );
  if (lag) facts.append(fact('consumer lag', String(lag.reduce((s, l) => s + l.lag, 0))));
  if (!p.health.ready) facts.append(fact('not ready', p.health.reasons.join('; ')));

  const connections = (p.source?.connections ?? []).map((c) => [
    c.id,
    el('span', c.state, `state-${c.state}`),
    String(c.streams),
    String(c.reconnects),
  ]);
  // The market is named only when several run side by side (spot and USD-M of one symbol).
  const markets = new Set(p.streams.map((s) => `${s.exchange}:${s.market}`));
  const streams = p.streams.map((s) => [markets.size > 1 ? `${s.symbol} ${s.market} ${s.stream}` : `${s.symbol} ${s.stream}`, fmt(s.messagesPerSecond)]);
  const parts: HTMLElement[] = [facts];
  if (connections.length > 0) parts.push(table(['connection', 'state', 'streams', 'reconnects'], connections));
  parts.push(table(['stream', 'msgs/s'], streams.length > 0 ? streams : [['no messages yet', '']]));
  root.replaceChildren(...parts);
  root.dataset.updated = String(p.time);
}
