import type { PipelineEvent } from '../core/events.js';

/** Where a source hands its records; resolving late is back-pressure. */
export type Emit = (events: readonly PipelineEvent[]) => Promise<void>;

/** The state of one exchange connection (/api/pipeline, /health). */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** One connection as /api/pipeline shows it: id, state, stream count, times (epoch ms), reconnects, last error. */
export interface ConnectionStatus {
  readonly id: string;
  readonly state: ConnectionState;
  readonly streams: number;
  readonly connectedAt: number | null;
  readonly reconnects: number;
  readonly lastMessageAt: number | null;
  readonly lastError: string | null;
}

/** What a source reports about itself (/api/pipeline `source`, /health). */
export interface SourceStatus {
  readonly kind: string;
  readonly connections: readonly ConnectionStatus[];
  /** Last message time per stream name (`btcusdt@trade`), epoch ms. */
  readonly lastMessageAt: Readonly<Record<string, number>>;
  /** True once a finite source (replay) has emitted everything it could. */
  readonly finished: boolean;
  /** Why a finite source ended before its end (an unreadable recording); absent when it did not. */
  readonly error?: string;
}

/**
 * The ingestion seam: the live Binance feed, the replay of a recording. A source never knows its
 * sink; it emits normalized records, gap events and dead letters.
 */
export interface Source {
  start(emit: Emit): Promise<void>;
  /** Stop reading; resolves after the last emit has resolved. */
  stop(): Promise<void>;
  status(): SourceStatus;
  /** Resolves when a finite source has emitted everything (never, for a live feed). */
  readonly finished: Promise<void>;
  /** Whether the source can deliver data now (for readiness). */
  ready(): boolean;
}
