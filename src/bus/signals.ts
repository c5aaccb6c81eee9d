import type { Signal } from '../core/signals.js';
import type { Bus, BusConsumer, Delivery } from './bus.js';

/** Called synchronously with each batch of the processor's signals, in order. */
export type SignalListener = (signals: readonly Signal[]) => void;

/**
 * The in-process end of the signal stream: fans each batch of signals out to every listener, in
 * order, synchronously (the live feed and the alert engine only fold them into memory). A listener
 * that throws is reported and the others still get the batch.
 */
export class SignalHub {
  private readonly listeners = new Set<SignalListener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** Returns the unsubscribe function. */
  subscribe(listener: SignalListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(signals: readonly Signal[]): void {
    if (signals.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(signals);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}

/**
 * Reads the `signals` topic into a hub, as its own consumer group (`group`, one per process: every
 * `serve` sees every signal). Starts at the newest records: what happened while nothing read them
 * is in the database, and alert state survives restarts there too.
 */
export async function followBusSignals(bus: Bus, group: string, hub: SignalHub): Promise<BusConsumer> {
  let consumer: BusConsumer | undefined;
  consumer = await bus.subscribe<Signal>(
    { group, topics: ['signals'], fromBeginning: false },
    {
      onDeliveries: async (batch) => {
        hub.publish(batch.map((d) => d.event));
        // commit() reads only topic, partition and offset, whatever the topic carries.
        await consumer?.commit(batch.slice(-1) as unknown as readonly Delivery[]);
      },
    },
  );
  return consumer;
}
