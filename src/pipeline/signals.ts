import type { Bus } from '../bus/bus.js';
import { followBusSignals, SignalHub } from '../bus/signals.js';
import { errorMessage } from '../core/errors.js';
import type { Signal } from '../core/signals.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { Upsert } from '../processors/processor-core.js';
import { signalsOf } from '../processors/signals.js';
import { WhaleDetector } from '../processors/whales.js';
import type { RoleContext } from './context.js';

/** Turns written processor rows into signals with the configured thresholds (processors/signals.ts). */
export function signalMapper(ctx: RoleContext): (upserts: readonly Upsert[]) => Signal[] {
  const whales = new WhaleDetector(ctx.config.processor);
  return (upserts) => signalsOf(upserts, ctx.config.processor, whales);
}

/** The process's signal hub; a listener failure is logged, never thrown into the processor. */
export function createSignalHub(ctx: RoleContext): SignalHub {
  return new SignalHub((err) => ctx.logger.error({ component: 'signals', err: errorMessage(err) }, 'a signal listener failed'));
}

/** `tickflow process`: every written batch of rows goes onto the Kafka `signals` topic. */
export function publishSignalsTo(ctx: RoleContext, bus: Bus): (upserts: readonly Upsert[]) => Promise<void> {
  const toSignals = signalMapper(ctx);
  return async (upserts) => {
    const signals = toSignals(upserts);
    if (signals.length > 0) await bus.publish(signals);
  };
}

/** `tickflow serve`: the `signals` topic into a hub, as this process's own consumer group. */
export async function signalsFromBus(ctx: RoleContext, bus: Bus): Promise<SignalHub> {
  const hub = createSignalHub(ctx);
  const consumer = await followBusSignals(bus, `${ctx.config.bus.groupPrefix}-signals-${process.pid}`, hub);
  ctx.shutdown.onShutdown('stop reading signals', () => consumer.close(), ShutdownOrder.stopReading);
  return hub;
}
