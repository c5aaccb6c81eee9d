import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { kafkaTool, uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { cluster, type Cluster, startRole } from '../support/roles.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const COMMON = ['type', 'exchange', 'market', 'symbol', 'eventTime', 'ingestionTimestamp'];
/** docs/kafka.md "Records": the value's fields per type, [required, optional]. */
const DOCUMENTED: Record<string, [string[], string[]]> = {
  trade: [[...COMMON, 'tradeId', 'price', 'quantity', 'tradeTime', 'buyerIsMaker'], []],
  aggTrade: [[...COMMON, 'aggTradeId', 'price', 'quantity', 'firstTradeId', 'lastTradeId', 'tradeTime', 'buyerIsMaker'], []],
  bookTicker: [[...COMMON, 'updateId', 'bidPrice', 'bidQty', 'askPrice', 'askQty'], ['transactionTime']],
  depth: [[...COMMON, 'firstUpdateId', 'finalUpdateId', 'bids', 'asks'], ['prevFinalUpdateId', 'transactionTime']],
  kline: [
    [...COMMON, 'interval', 'openTime', 'closeTime', 'firstTradeId', 'lastTradeId', 'open', 'high', 'low', 'close', 'volume',
      'quoteVolume', 'tradeCount', 'takerBuyVolume', 'takerBuyQuoteVolume', 'closed'],
    [],
  ],
};
const DECIMALS = /^(price|quantity|bidPrice|bidQty|askPrice|askQty|open|high|low|close|volume|quoteVolume|takerBuyVolume|takerBuyQuoteVolume)$/;

async function consume(on: Cluster, topic: string, count: number): Promise<string[]> {
  const out = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', on.brokers.join(','),
    '--topic', topic,
    '--from-beginning',
    '--max-messages', String(count),
    '--timeout-ms', '30000',
    '--property', 'print.key=true',
    '--property', 'print.headers=true',
    '--property', 'key.separator=|',
    '--property', 'headers.separator=,',
  ]);
  return out.trim().split('\n');
}

test("Kafka's console consumer reads what the ingest role produced: the documented JSON, key and headers", async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 61, tradesPerSecond: 50, bookTickersPerSecond: 20 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('console'), await freshDatabase(t));
  await startRole(t, 'ingest', on, [
    '--source', 'binance', '--ws-url', sim.wsBaseUrl, '--symbols', SYMBOLS.join(','), '--streams', 'trade,aggTrade,bookTicker,depth,kline_1m',
  ]);
  const perTopic = await Promise.all(
    (['trades', 'bookTicker', 'depth', 'klines'] as const).map(async (id) => [id, await consume(on, on.topic(id), 10)] as const),
  );
  const seenTypes = new Set<string>();
  for (const [id, lines] of perTopic) {
    assert.equal(lines.length, 10, `${id}: ${lines.join('\n').slice(0, 500)}`);
    for (const line of lines) {
      const [headers, key, value] = line.split('|') as [string, string, string];
      const event = JSON.parse(value) as Record<string, unknown>;
      const type = String(event.type);
      seenTypes.add(type);
      assert.equal(headers, `tickflow-type:${type},tickflow-schema:1`);
      assert.equal(key, `${String(event.exchange)}:${String(event.market)}:${String(event.symbol)}`, 'keyed by instrument');
      assert.ok(SYMBOLS.includes(String(event.symbol)), key);
      const [required, optional] = DOCUMENTED[type] ?? assert.fail(`undocumented type ${type} on ${id}`);
      const fields = Object.keys(event);
      for (const f of required) assert.ok(fields.includes(f), `${type} has ${f}: ${value}`);
      for (const f of fields) assert.ok(required.includes(f) || optional.includes(f), `${type} field ${f} is documented: ${value}`);
      assert.equal(event.exchange, 'binance');
      assert.equal(event.market, 'spot');
      for (const [f, v] of Object.entries(event)) {
        if (DECIMALS.test(f)) assert.match(String(v), /^\d+\.\d+$/, `${type}.${f} is a decimal string`);
        if (DECIMALS.test(f)) assert.equal(typeof v, 'string');
      }
      assert.ok(Number.isSafeInteger(event.eventTime) && Number.isSafeInteger(event.ingestionTimestamp), value);
      assert.ok((event.ingestionTimestamp as number) > (event.eventTime as number) * 100, 'ingestionTimestamp in µs, eventTime in ms');
    }
  }
  for (const type of ['trade', 'bookTicker', 'depth', 'kline']) assert.ok(seenTypes.has(type), `${type} read: ${[...seenTypes].join(',')}`);
});
