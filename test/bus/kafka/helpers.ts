import type { TestContext } from 'node:test';
import { Admin } from '@platformatic/kafka';
import type { Delivery } from '../../../src/bus/bus.js';
import { KafkaBus } from '../../../src/bus/kafka/index.js';
import type { Config } from '../../../src/config/schema.js';
import type { TradeEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../../src/ops/metrics.js';
import { kafkaBrokers, kafkaBusConfig, uniquePrefix } from '../../support/kafka.js';

/** A started bus on topics private to this test; topics are deleted when the test ends. */
export async function startBus(
  t: TestContext,
  name: string,
  overrides: Partial<Config['bus']> = {},
): Promise<{ bus: KafkaBus; config: Config['bus']; metrics: Metrics; prefix: string; newBus(): Promise<KafkaBus> }> {
  const prefix = uniquePrefix(name);
  const config = kafkaBusConfig(prefix, overrides);
  const metrics = createMetrics();
  const buses: KafkaBus[] = [];
  const newBus = async () => {
    const bus = new KafkaBus(config, { logger: silentLogger(), metrics });
    buses.push(bus);
    await bus.start();
    return bus;
  };
  t.after(async () => {
    for (const bus of buses) await bus.close();
    const admin = new Admin({ clientId: 'test-cleanup', bootstrapBrokers: kafkaBrokers() });
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.close();
  });
  return { bus: await newBus(), config, metrics, prefix, newBus };
}

export function trade(symbol: string, tradeId: number): TradeEvent {
  return {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol,
    eventTime: 1_763_700_000_000 + tradeId,
    ingestionTimestamp: 1_763_700_000_000_000 + tradeId * 1000,
    tradeId,
    price: '61234.56000000',
    quantity: '0.00120000',
    tradeTime: 1_763_700_000_000 + tradeId,
    buyerIsMaker: tradeId % 2 === 0,
  };
}

export function tradeIds(deliveries: readonly Delivery[]): number[] {
  return deliveries.map((d) => (d.event as TradeEvent).tradeId).sort((a, b) => a - b);
}
