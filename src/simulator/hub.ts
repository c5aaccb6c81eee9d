import type { Logger } from '../ops/logger.js';
import type { EmittedTracker } from './emitted.js';

/** One data frame for one stream: the raw payload plus the ids it carries (for emitted()). */
export interface Outbound {
  readonly stream: string;
  /** The raw payload JSON, as sent on /ws/<stream>. */
  readonly data: string;
  readonly firstId: number;
  readonly lastId: number;
}

/** What the hub needs from a client connection. */
export interface Subscriber {
  readonly combined: boolean;
  readonly streams: Set<string>;
  /** Whether this connection delivers `stream` at all (USD-M: only the streams of its routed path). */
  carries(stream: string): boolean;
  /**
   * Queues a text frame; false if the connection could not take it. `onWritten` runs once the
   * frame is written to the socket — never for a frame a cut connection discards.
   */
  send(text: string, onWritten?: () => void): boolean;
  /** Writes the queued frames now instead of at the end of the tick. */
  flush(): void;
  /** Bytes queued towards the client. */
  buffered(): number;
  /** Where the client connects from (host:port), for logs. */
  peer(): string;
  terminate(): void;
  close(code: number, reason: string): void;
}

/** What GET /sim/stats reports about the connections. */
export interface HubStats {
  /** Connections open now. */
  connections: number;
  /** Clients cut because they fell more than the buffer limit behind, since start. */
  slowConsumerDisconnects: number;
}

/** GET /sim/stats: the connections, and how much the market was slowed down (overload). */
export interface SimulatorStats extends HubStats {
  /** Milliseconds the market was played slower than asked since start: the rate was not held. */
  marketSlowedDownMs: number;
}

/** Holds a reordered batch this long at most when fewer frames than asked arrive. */
const REORDER_FLUSH_MS = 1_000;

/**
 * Routes frames to the connections subscribed to their stream, applying the data faults on the
 * way (stall, skipped ids, reorder, malformed, duplicate), and records what was delivered.
 */
export class Hub {
  private readonly connections = new Set<Subscriber>();
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly emitted: EmittedTracker;
  private readonly logger: Logger | undefined;
  private slowConsumerDisconnects = 0;
  private stallUntil = 0;
  private malformedLeft = 0;
  private duplicateLeft = 0;
  private reorderLeft = 0;
  private reorderBuffer: Outbound[] = [];
  private reorderTimer: NodeJS.Timeout | null = null;
  private readonly skips = new Map<string, number>();

  constructor(emitted: EmittedTracker, logger?: Logger) {
    this.emitted = emitted;
    this.logger = logger;
  }

  /** Counts and logs a client about to be cut for being `queuedBytes` behind. */
  slowConsumer(conn: Subscriber, queuedBytes: number): void {
    this.slowConsumerDisconnects += 1;
    this.logger?.warn({ peer: conn.peer(), queuedBytes, streams: conn.streams.size }, 'simulator cut a slow consumer (send buffer over the limit)');
  }

  stats(): HubStats {
    return { connections: this.connections.size, slowConsumerDisconnects: this.slowConsumerDisconnects };
  }

  add(conn: Subscriber): void {
    this.connections.add(conn);
    this.subscribe(conn, [...conn.streams]);
  }

  remove(conn: Subscriber): void {
    this.connections.delete(conn);
    this.unsubscribe(conn, [...conn.streams]);
  }

  subscribe(conn: Subscriber, streams: readonly string[]): void {
    for (const stream of streams) {
      conn.streams.add(stream);
      // Subscribed and listed, but never delivered: a stream asked for on the wrong USD-M path.
      if (!conn.carries(stream)) continue;
      let set = this.subscribers.get(stream);
      if (set === undefined) {
        set = new Set();
        this.subscribers.set(stream, set);
      }
      set.add(conn);
    }
  }

  unsubscribe(conn: Subscriber, streams: readonly string[]): void {
    for (const stream of streams) {
      conn.streams.delete(stream);
      const set = this.subscribers.get(stream);
      set?.delete(conn);
      if (set?.size === 0) this.subscribers.delete(stream);
    }
  }

  /** True once any connection is subscribed to anything (a replay waits for its audience). */
  hasAnySubscriber(): boolean {
    return this.subscribers.size > 0;
  }

  /** The largest send queue among the connections (a fast replay waits for slow clients). */
  backlog(): number {
    let max = 0;
    for (const conn of this.connections) max = Math.max(max, conn.buffered());
    return max;
  }

  /** Generators skip building payloads nobody would receive. */
  hasSubscribers(stream: string): boolean {
    return this.subscribers.has(stream);
  }

  publish(msg: Outbound): void {
    if (Date.now() < this.stallUntil) return;
    const skip = this.skips.get(msg.stream);
    if (skip !== undefined) {
      if (skip <= 1) this.skips.delete(msg.stream);
      else this.skips.set(msg.stream, skip - 1);
      return;
    }
    if (this.reorderLeft > 0) {
      this.reorderLeft -= 1;
      this.reorderBuffer.push(msg);
      if (this.reorderLeft === 0) this.flushReordered();
      else this.reorderTimer ??= setTimeout(() => this.flushReordered(), REORDER_FLUSH_MS).unref();
      return;
    }
    this.sendOut(msg);
  }

  /** A frame for every connection regardless of subscriptions (serverShutdown). */
  broadcast(text: string): void {
    for (const conn of this.connections) conn.send(text);
  }

  /** Cuts every connection without a close frame, like a network failure. */
  dropAll(): number {
    const n = this.connections.size;
    for (const conn of [...this.connections]) conn.terminate();
    return n;
  }

  closeAll(code: number, reason: string): void {
    for (const conn of [...this.connections]) conn.close(code, reason);
  }

  stall(ms: number): void {
    this.stallUntil = Date.now() + ms;
  }

  /**
   * Writes every connection's queued frames now instead of at the end of the tick, so that what
   * was published so far is recorded as emitted (the simulator's emitted() report calls this).
   */
  flushAll(): void {
    for (const conn of this.connections) conn.flush();
  }

  malformed(n: number): void {
    this.malformedLeft += n;
  }

  duplicate(n: number): void {
    this.duplicateLeft += n;
  }

  reorder(n: number): void {
    this.reorderLeft += n;
  }

  skip(stream: string, n: number): void {
    this.skips.set(stream, (this.skips.get(stream) ?? 0) + n);
  }

  stop(): void {
    if (this.reorderTimer !== null) clearTimeout(this.reorderTimer);
    this.reorderTimer = null;
  }

  private flushReordered(): void {
    if (this.reorderTimer !== null) clearTimeout(this.reorderTimer);
    this.reorderTimer = null;
    const batch = this.reorderBuffer.reverse();
    this.reorderBuffer = [];
    for (const msg of batch) this.sendOut(msg);
  }

  private sendOut(msg: Outbound): void {
    if (this.malformedLeft > 0) {
      this.malformedLeft -= 1;
      // A truncated frame: the client must dead-letter it and then see the id gap it leaves.
      this.deliver(msg, (text) => text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    // Recorded when the first connection writes the frame, not when it is queued: a connection cut
    // in the same tick (the drop fault, a slow consumer) discards its queue, and emitted() must not
    // report as delivered what never left (test/pipeline/run.test.ts compared against it).
    let recorded = false;
    this.deliver(msg, undefined, () => {
      if (recorded) return;
      recorded = true;
      this.emitted.record(msg.stream, msg.firstId, msg.lastId);
    });
    if (this.duplicateLeft > 0) {
      this.duplicateLeft -= 1;
      this.deliver(msg);
    }
  }

  private deliver(msg: Outbound, mangle?: (text: string) => string, onWritten?: () => void): void {
    const set = this.subscribers.get(msg.stream);
    if (set === undefined) return;
    let wrapped: string | null = null;
    for (const conn of set) {
      let text = msg.data;
      if (conn.combined) {
        wrapped ??= `{"stream":"${msg.stream}","data":${msg.data}}`;
        text = wrapped;
      }
      if (mangle !== undefined) text = mangle(text);
      conn.send(text, onWritten);
    }
  }
}
