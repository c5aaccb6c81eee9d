import type { BusConsumer, Delivery, TopicId } from '../bus/bus.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';

/** `topic/partition` names built so far, per topic and partition (sourceOf runs once per delivery). */
const SOURCE_NAMES = new Map<TopicId, string[]>();

/** A partition as the processor core names its input sources: `topic/partition`. */
export function sourceOf(d: { topic: TopicId; partition: number }): string {
  let names = SOURCE_NAMES.get(d.topic);
  if (names === undefined) {
    names = [];
    SOURCE_NAMES.set(d.topic, names);
  }
  let name = names[d.partition];
  if (name === undefined) {
    name = `${d.topic}/${d.partition}`;
    names[d.partition] = name;
  }
  return name;
}

/**
 * The processor's commit tracking. Per source it remembers the last delivery seen and the offset
 * last committed, and commits only what `committable` allows (ProcessorCore: below the oldest event
 * still held in an open window) and only when that moved past the last commit. A failed commit is
 * logged and left to the next one: a later commit covers the offsets, and a replay is idempotent.
 */
export class CommitTracker {
  private readonly last = new Map<string, Delivery>();
  private readonly committed = new Map<string, bigint>();

  constructor(private readonly logger: Logger) {}

  /** Deliveries handed to the core. */
  seen(deliveries: readonly Delivery[]): void {
    for (const d of deliveries) this.last.set(sourceOf(d), d);
  }

  /** The last delivery seen per source (the processing position, for the lag split). */
  get lastDelivery(): ReadonlyMap<string, Delivery> {
    return this.last;
  }

  /**
   * Commits, per source of `sources`, the offset `committable` allows when it is past the last
   * commit. `committable` is the first offset not yet safe, so it is what the group resumes from.
   */
  async commit(consumer: BusConsumer, sources: Iterable<string>, committable: (source: string) => bigint | undefined): Promise<void> {
    const safe: Delivery[] = [];
    for (const source of sources) {
      const offset = committable(source);
      const last = this.last.get(source);
      if (offset === undefined || !last || offset <= (this.committed.get(source) ?? -1n)) continue;
      // Named field by field: a delivery may be a class whose key is a getter, which a spread drops.
      safe.push({ topic: last.topic, partition: last.partition, offset, key: last.key, event: last.event });
    }
    if (safe.length === 0) return;
    try {
      await consumer.commit(safe);
      for (const d of safe) this.committed.set(sourceOf(d), d.offset);
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, 'offset commit failed; the next batch commits past it');
    }
  }

  /** A partition was revoked: its next owner starts from the group's committed offset. */
  forget(source: string): void {
    this.last.delete(source);
    this.committed.delete(source);
  }
}
