import type { PipelineReport } from '../../api/contract.js';

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

/** What the source is (`sim`, `binance`, `replay`) and, for a finite one, whether it is done. */
function sourceLabel(p: PipelineReport): string {
  if (!p.source) return 'none';
  if (p.source.kind.split('+').includes('replay')) return p.source.finished ? 'replay finished' : 'replay';
  return p.source.kind;
}

/**
 * Connection state per stream connection, msgs/s, gaps, dead letters, ingest latency (n/a for a
 * replay), processing lag and, apart from it, the recovery distance the processor keeps on purpose.
 */
export function renderPipeline(root: HTMLElement, p: PipelineReport): void {
  const lag = p.bus.consumerLag;
  const latency = p.ingestLatencyMs;
  const facts = el('div', undefined, 'facts');
  facts.append(fact('source', sourceLabel(p)), fact('bus', p.bus.kind));
  if (latency.notApplicable !== undefined) {
    const na = fact('ingest latency', 'n/a');
    na.title = latency.notApplicable;
    facts.append(na);
  } else {
    facts.append(fact('ingest p50', `${fmt(latency.p50)} ms`), fact('p99', `${fmt(latency.p99)} ms`));
  }
  facts.append(
    fact('gaps', String(p.store.gaps ?? '–')),
    fact('unhealed', String(p.store.unhealedGaps ?? '–')),
    fact('dead letters', String(p.store.deadLetters ?? '–')),
    fact('store', p.store.reachable ? p.store.kind : 'unreachable'),
  );
  // Healing in this process: the queue, what it finished, and the REST weight it leaves live requests.
  if (p.heal) {
    const weight = Object.entries(p.heal.weight)
      .map(([market, w]) => `${market} ${w.used}/${w.limit}`)
      .join(', ');
    facts.append(fact('healing', `${p.heal.queued} queued, ${p.heal.healed} healed, ${p.heal.partial} partial, ${p.heal.failed} failed, ${p.heal.rows} rows`));
    if (weight !== '') facts.append(fact('REST weight', weight));
  }
  if (lag) {
    const processing = fact('processing lag', String(lag.reduce((s, l) => s + l.lag, 0)));
    processing.title = 'records not yet processed';
    const recovery = fact('recovery distance', String(lag.reduce((s, l) => s + (l.recoveryDistance ?? 0), 0)));
    recovery.title = 'records processed but kept for replay after a crash (open windows): not a delay';
    facts.append(processing, recovery);
  }
  if (!p.health.ready) facts.append(fact('not ready', p.health.reasons.join('; ')));

  const connections = (p.source?.connections ?? []).map((c) => [c.id, el('span', c.state, `state-${c.state}`), String(c.streams), String(c.reconnects)]);
  // The market is named only when several run side by side (spot and USD-M of one symbol).
  const markets = new Set(p.streams.map((s) => `${s.exchange}:${s.market}`));
  const streams = p.streams.map((s) => [markets.size > 1 ? `${s.symbol} ${s.market} ${s.stream}` : `${s.symbol} ${s.stream}`, fmt(s.messagesPerSecond)]);
  const parts: HTMLElement[] = [facts];
  if (connections.length > 0) parts.push(table(['connection', 'state', 'streams', 'reconnects'], connections));
  parts.push(table(['stream', 'msgs/s'], streams.length > 0 ? streams : [['no messages yet', '']]));
  root.replaceChildren(...parts);
  root.dataset.source = sourceLabel(p);
  root.dataset.updated = String(p.time);
}
