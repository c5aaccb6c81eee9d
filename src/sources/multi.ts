import type { Emit, Source, SourceStatus } from './source.js';

/**
 * Several sources run as one (spot and USD-M in one `tickflow run`): started together, stopped
 * together, ready when one is, finished when all are. Their events already carry their own
 * (exchange, market, symbol), so nothing is relabelled here; only the status names are prefixed
 * with the part's label so that `btcusdt@trade` of spot and of USD-M stay apart.
 */
export class MultiSource implements Source {
  readonly finished: Promise<void>;

  constructor(private readonly parts: readonly { readonly label: string; readonly source: Source }[]) {
    this.finished = Promise.all(parts.map((p) => p.source.finished)).then(() => undefined);
  }

  async start(emit: Emit): Promise<void> {
    for (const p of this.parts) await p.source.start(emit);
  }

  async stop(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.source.stop()));
  }

  status(): SourceStatus {
    const statuses = this.parts.map((p) => ({ label: p.label, status: p.source.status() }));
    return {
      kind: [...new Set(statuses.map((s) => s.status.kind))].join('+'),
      connections: statuses.flatMap((s) => s.status.connections),
      lastMessageAt: Object.fromEntries(statuses.flatMap((s) => Object.entries(s.status.lastMessageAt).map(([stream, at]) => [`${s.label}:${stream}`, at]))),
      finished: statuses.every((s) => s.status.finished),
    };
  }

  ready(): boolean {
    return this.parts.some((p) => p.source.ready());
  }
}
