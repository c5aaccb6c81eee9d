import type { Source } from '../sources/source.js';
import type { IngestTotals } from './ingest.js';

const STREAMS = ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline'] as const;

/**
 * The live terminal status line: per-stream msgs/s over the last second, totals, connection state,
 * gaps and dead letters, redrawn in place once a second on stderr.
 */
export function startStatusLine(source: Source, totals: () => IngestTotals, out: NodeJS.WriteStream = process.stderr): () => void {
  let previous = totals();
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const current = totals();
    const seconds = Math.max((now - last) / 1000, 0.001);
    const rates = STREAMS.filter((s) => (current.events[s] ?? 0) > 0)
      .map((s) => `${s} ${Math.round(((current.events[s] ?? 0) - (previous.events[s] ?? 0)) / seconds)}/s`)
      .join('  ');
    const total = Object.values(current.events).reduce((a, b) => a + b, 0);
    const conns = source.status().connections;
    const open = conns.filter((c) => c.state === 'open').length;
    const state = source.status().finished ? 'finished' : conns.length === 0 ? 'replay' : `${open}/${conns.length} open`;
    const line = `${rates || 'waiting for data'} | total ${total} | ${state} | gaps ${current.gaps} | dead letters ${current.deadLetters}`;
    out.write(`\r\x1b[2K${line}`);
    previous = current;
    last = now;
  }, 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    out.write('\r\x1b[2K');
  };
}
