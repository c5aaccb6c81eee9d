/**
 * The consumer-group rebalance stall: how long a group delivers nothing when a second member joins
 * and when it leaves again, while a producer keeps publishing at a steady rate. The yardstick, from
 * the same run, is the longest gap between deliveries while the group was steady (one member, no
 * rebalance) — what "no stall" looks like at this rate on this machine.
 *
 * Run: `node --import tsx bench/kafka-rebalance.ts [rounds=3] [eventsPerSecond=2000]` after
 * `bash scripts/services/kafka.sh ensure`. Every figure is in ms. It fails (exit 1) when a member
 * received nothing or a published trade was never delivered.
 */
import { Admin } from '@platformatic/kafka';
import type { BusConsumer, Delivery } from '../src/bus/bus.js';
import { KafkaBus } from '../src/bus/kafka/index.js';
import type { TradeEvent } from '../src/core/events.js';
import { createLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { kafkaBrokers, kafkaBusConfig, uniquePrefix } from '../test/support/kafka.js';
import { failOnProblems, printMachine } from './support/report.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const RATE = Number(process.argv[3] ?? 2_000);
const TICK_MS = 20;
const STEADY_MS = 4_000;
/** How long after a join or a leave deliveries are watched for the stall. */
const WATCH_MS = 12_000;
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `R${i}USDT`);

function trade(id: number): TradeEvent {
  const t = 1_763_700_000_000 + id;
  return {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: SYMBOLS[id % SYMBOLS.length] as string,
    eventTime: t,
    ingestionTimestamp: t * 1000,
    tradeId: id,
    price: '61234.56000000',
    quantity: '0.00120000',
    tradeTime: t,
    buyerIsMaker: id % 2 === 0,
  };
}

/** The longest time in [from, to) during which the group delivered nothing (ms). */
function longestGap(times: readonly number[], from: number, to: number): number {
  let last = from;
  let gap = 0;
  for (const at of times) {
    if (at < from) continue;
    if (at >= to) break;
    gap = Math.max(gap, at - last);
    last = at;
  }
  return Math.max(gap, to - last);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  printMachine('start');
  const prefix = uniquePrefix('rebalance');
  const config = kafkaBusConfig(prefix);
  const metrics = createMetrics();
  // Warnings and errors on stderr: a member that stops consuming says why there.
  const logger = createLogger({ level: 'warn', format: 'json' });
  const buses: KafkaBus[] = [];
  const newBus = async () => {
    const bus = new KafkaBus(config, { logger, metrics });
    buses.push(bus);
    await bus.start();
    return bus;
  };
  const problems: string[] = [];
  const deliveredAt: number[] = [];
  const ids = new Set<number>();
  const perMember = { a: 0, b: 0 };
  const handler = (name: 'a' | 'b', commit: (batch: readonly Delivery[]) => Promise<void>) => ({
    onDeliveries: async (batch: readonly Delivery[]) => {
      deliveredAt.push(performance.now());
      perMember[name] += batch.length;
      for (const d of batch) ids.add((d.event as TradeEvent).tradeId);
      await commit(batch);
    },
  });
  const producer = await newBus();
  let next = 1;
  let producing = true;
  const publishing = (async () => {
    const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1_000));
    while (producing) {
      const batch = Array.from({ length: perTick }, () => trade(next++));
      await producer.publish(batch);
      await sleep(TICK_MS);
    }
  })();
  try {
    const busA = await newBus();
    let a: BusConsumer | undefined;
    a = await busA.subscribe(
      { group: `${prefix}-group`, topics: ['trades'], fromBeginning: true },
      handler('a', async (batch) => a?.commit(batch)),
    );
    await sleep(STEADY_MS); // the first assignment and the backlog of the start
    const rows: { round: number; steady: number; join: number; firstToB: number; leave: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const steadyFrom = performance.now();
      await sleep(STEADY_MS);
      const steady = longestGap(deliveredAt, steadyFrom, performance.now());

      const joinAt = performance.now();
      const bBefore = perMember.b;
      const busB = await newBus();
      let b: BusConsumer | undefined;
      b = await busB.subscribe(
        { group: `${prefix}-group`, topics: ['trades'] },
        handler('b', async (batch) => b?.commit(batch)),
      );
      const deadline = joinAt + WATCH_MS;
      while (perMember.b === bBefore && performance.now() < deadline) await sleep(10);
      const firstToB = perMember.b === bBefore ? Number.NaN : performance.now() - joinAt;
      await sleep(Math.max(0, deadline - performance.now()));
      const join = longestGap(deliveredAt, joinAt, deadline);

      const leaveAt = performance.now();
      await b.close();
      await busB.close();
      buses.splice(buses.indexOf(busB), 1);
      await sleep(WATCH_MS);
      const leave = longestGap(deliveredAt, leaveAt, leaveAt + WATCH_MS);
      rows.push({ round, steady, join, firstToB, leave });
      console.log(
        `round ${round}: longest gap steady ${steady.toFixed(0)} ms (yardstick) | after B joins ${join.toFixed(0)} ms (ratio ${(join / steady).toFixed(1)}), B's first delivery ${firstToB.toFixed(0)} ms | after B leaves ${leave.toFixed(0)} ms (ratio ${(leave / steady).toFixed(1)})`,
      );
      if (Number.isNaN(firstToB)) problems.push(`round ${round}: B received nothing within ${WATCH_MS} ms of joining`);
    }
    producing = false;
    await publishing;
    const published = next - 1;
    const drainFrom = performance.now();
    while (ids.size < published && performance.now() < drainFrom + 60_000) await sleep(50);
    if (ids.size < published) {
      const missing = [...Array(published).keys()].map((i) => i + 1).filter((id) => !ids.has(id));
      const lag = (await a?.lag()) ?? [];
      problems.push(
        `${missing.length} of ${published} published trades not delivered within 60 s of the last publish (ids ${missing.slice(0, 12).join(', ')}…; lag ${JSON.stringify(lag)})`,
      );
    } else {
      console.log(`the last trades arrived ${(performance.now() - drainFrom).toFixed(0)} ms after the last publish`);
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    console.log(
      `median of ${ROUNDS} rounds at ${RATE} trades/s: steady ${median(rows.map((r) => r.steady)).toFixed(0)} ms, join ${median(rows.map((r) => r.join)).toFixed(0)} ms, B's first delivery ${median(rows.map((r) => r.firstToB)).toFixed(0)} ms, leave ${median(rows.map((r) => r.leave)).toFixed(0)} ms; ${published} trades published, ${ids.size} delivered`,
    );
    await a.close();
  } finally {
    producing = false;
    await publishing.catch(() => undefined);
    for (const bus of buses) await bus.close();
    const admin = new Admin({ clientId: 'bench-cleanup', bootstrapBrokers: kafkaBrokers() });
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    await admin.close();
  }
  printMachine('end');
  failOnProblems(problems);
}

await main();
