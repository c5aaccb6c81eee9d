import type { Delivery } from '../bus/bus.js';

/**
 * The store writer's batching state: deliveries received and not yet written (`pending`), and the
 * one batch being written (`in flight`). A batch whose write gave up goes back in front, so the
 * order of deliveries is kept and nothing is committed past it. Times are monotonic ms.
 */
export class PendingDeliveries {
  private pending: Delivery[] = [];
  private oldestAt: number | undefined;
  private inFlight = 0;
  private inFlightSince: number | undefined;

  /** Queues deliveries received at `now`. */
  add(deliveries: readonly Delivery[], now: number): void {
    this.oldestAt ??= now;
    for (const d of deliveries) this.pending.push(d);
  }

  /** Deliveries waiting for the next batch (the one in flight not included). */
  get waiting(): number {
    return this.pending.length;
  }

  /** Everything received and not yet written: waiting plus in flight. */
  get total(): number {
    return this.pending.length + this.inFlight;
  }

  /** Age in ms of the oldest delivery not yet written (0 when there is none). */
  oldestAgeMs(now: number): number {
    const oldest = this.inFlightSince ?? this.oldestAt;
    return oldest === undefined ? 0 : Math.round(now - oldest);
  }

  /** Takes every waiting delivery as the batch in flight (empty when nothing waits). */
  take(): Delivery[] {
    const batch = this.pending;
    if (batch.length === 0) return batch;
    this.pending = [];
    this.inFlight = batch.length;
    this.inFlightSince = this.oldestAt;
    this.oldestAt = undefined;
    return batch;
  }

  /** The batch in flight was written. */
  written(): void {
    this.inFlight = 0;
    this.inFlightSince = undefined;
  }

  /** The batch in flight was not written: it goes back in front of what arrived since, with its age. */
  putBack(batch: readonly Delivery[]): void {
    this.pending = [...batch, ...this.pending];
    this.oldestAt = this.inFlightSince ?? this.oldestAt;
    this.written();
  }
}
