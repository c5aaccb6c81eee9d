import type { Upsert } from './processor-core.js';

/** Per source (`topic/partition`): the offset safe to commit once the rows queued so far are durable. */
export type SafePositions = ReadonlyMap<string, bigint | undefined>;

/** How WriteBehind writes, commits and bounds the rows queued behind the write in flight. */
export interface WriteBehindDeps {
  /** Writes rows durably; on failure it throws and keeps them, so its next call writes them first (UpsertWriter). */
  readonly write: (upserts: readonly Upsert[]) => Promise<void>;
  /** Commits positions; called only after every row queued before they were taken is written. */
  readonly commit: (positions: SafePositions) => Promise<void>;
  /** Queued rows at which `admit` waits for the write in flight: bounds memory and a replay after a crash. */
  readonly maxQueuedRows: number;
}

/**
 * The processor's writes and commits, one transaction at a time, behind the core: while a
 * transaction is in flight the core folds in the next deliveries, and every row it produces
 * meanwhile goes out in the next transaction. Under backlog transactions therefore grow with the
 * backlog (and a window updated several times is written once, writeUpserts), and offsets are
 * committed once per transaction instead of once per delivery batch. At low rates a delivery finds
 * no write in flight and is written at once, as before.
 *
 * Durability order is kept: each transaction commits the positions taken together with its last
 * rows, i.e. what ProcessorCore allowed when those rows were produced. A failed write keeps its rows
 * (the writer's) and stops the loop; the next `admit` or `settle` tries again and throws while it
 * fails, so the caller's retry policy (the bus handler's) applies as it did when writes were inline.
 */
export class WriteBehind {
  private queued: Upsert[] = [];
  private positions: SafePositions | undefined;
  private running: Promise<void> | undefined;
  private failure: unknown;
  /** Woken after every write (and its commit) that ends, written or failed. */
  private waiters: (() => void)[] = [];

  constructor(private readonly deps: WriteBehindDeps) {}

  /** Rows not yet handed to a write. */
  get queuedRows(): number {
    return this.queued.length;
  }

  /**
   * Queues rows with the positions they make safe, taken right after the rows were produced (so
   * they cover nothing the queue does not hold), and starts a write unless one runs or failed.
   */
  add(upserts: readonly Upsert[], positions: SafePositions): void {
    for (const u of upserts) this.queued.push(u);
    this.positions = positions;
    if (this.failure === undefined) this.start();
  }

  /**
   * Before more input is folded in: retries a failed write (throwing while it fails, with nothing
   * of the new input taken yet) and waits while the queue is at its bound.
   */
  async admit(): Promise<void> {
    if (this.failure !== undefined) return this.settle();
    while (this.queued.length >= this.deps.maxQueuedRows && this.running) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Writes and commits everything queued; throws the error of a write that failed (its rows are kept). */
  async settle(): Promise<void> {
    if (this.failure !== undefined) {
      this.failure = undefined;
      this.start();
    }
    while (this.running) await this.running;
    if (this.failure !== undefined) throw this.failure;
  }

  private start(): void {
    this.running ??= this.loop().finally(() => (this.running = undefined));
  }

  private async loop(): Promise<void> {
    while (this.positions !== undefined || this.queued.length > 0) {
      const batch = this.queued;
      const positions = this.positions;
      this.queued = [];
      this.positions = undefined;
      try {
        await this.deps.write(batch);
        if (positions !== undefined) await this.deps.commit(positions);
      } catch (err) {
        // The writer keeps `batch`; its positions wait for it (newer ones taken meanwhile cover them).
        this.positions ??= positions;
        this.failure = err;
        return;
      } finally {
        for (const wake of this.waiters.splice(0)) wake();
      }
    }
  }
}
