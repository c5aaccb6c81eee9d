import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord } from '../../src/bus/kafka/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { consoleConsume, uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { cluster, startRole } from '../support/roles.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
/**
 * docs/kafka.md "Records", schema 2: the value is Binance's own payload (the `data` object of the
 * combined stream), so its fields are Binance's, per type [required, optional].
 */
const DOCUMENTED: Record<string, [string[], string[]]> = {
  trade: [
    ['e', 'E', 's', 't', 'p', 'q', 'T', 'm'],
    ['M', 'X'],
  ],
  bookTicker: [
    ['u', 's', 'b', 'B', 'a', 'A'],
    ['e', 'E', 'T'],
  ],
  depth: [
    ['e', 'E', 's', 'U', 'u', 'b', 'a'],
    ['T', 'pu'],
  ],
  kline: [['e', 'E', 's', 'k'], []],
  aggTrade: [['e', 'E', 's', 'a', 'p', 'q', 'f', 'l', 'T', 'm'], ['M']],
};
/** Decimal-string fields per type (depth's `b`/`a` are level arrays). */
const DECIMALS: Record<string, string[]> = { trade: ['p', 'q'], aggTrade: ['p', 'q'], bookTicker: ['b', 'B', 'a', 'A'] };

test("Kafka's console consumer reads what the ingest role produced: Binance's payload, the documented key and headers", async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 61, tradesPerSecond: 50, bookTickersPerSecond: 20 });
  t.after(() => sim.close());
  const on = cluster(t, uniquePrefix('console'), await freshDatabase(t));
  await startRole(t, 'ingest', on, [
    '--source',
    'binance',
    '--ws-url',
    sim.wsBaseUrl,
    '--symbols',
    SYMBOLS.join(','),
    '--streams',
    'trade,aggTrade,bookTicker,depth,kline_1m',
  ]);
  const perTopic = await Promise.all(
    (['trades', 'bookTicker', 'depth', 'klines'] as const).map(async (id) => [id, await consoleConsume(on.brokers, on.topic(id), 10, 30_000)] as const),
  );
  const seenTypes = new Set<string>();
  for (const [id, records] of perTopic) {
    assert.equal(records.length, 10, `${id}: ${JSON.stringify(records).slice(0, 500)}`);
    for (const { headers, key, value } of records) {
      const payload = JSON.parse(value) as Record<string, unknown>;
      const [, type, ingested] = /^tickflow-type:(\w+),tickflow-schema:2,tickflow-ingested:(\d+)$/.exec(headers) ?? assert.fail(`headers: ${headers}`);
      seenTypes.add(type!);
      assert.equal(key, `binance:spot:${String(payload.s)}`, "keyed by instrument, the symbol is the payload's");
      assert.ok(SYMBOLS.includes(String(payload.s)), key);
      const [required, optional] = DOCUMENTED[type!] ?? assert.fail(`undocumented type ${type} on ${id}`);
      const fields = Object.keys(payload);
      for (const f of required) assert.ok(fields.includes(f), `${type} has ${f}: ${value}`);
      for (const f of fields) assert.ok(required.includes(f) || optional.includes(f), `${type} field ${f} is documented: ${value}`);
      for (const f of DECIMALS[type!] ?? []) assert.match(String(payload[f]), /^\d+\.\d+$/, `${type}.${f} is a decimal string`);
      if (payload.E !== undefined) assert.ok(Number(ingested) > (payload.E as number) * 100, 'tickflow-ingested in µs, E in ms');
      // The decoded record is the normalized event every consumer of the topic sees.
      const event = decodeRecord(
        Buffer.from(key),
        Buffer.from(value),
        new Map(headers.split(',').map((h) => h.split(':').map((x) => Buffer.from(x)) as [Buffer, Buffer])),
      );
      assert.equal(event.type, type);
      if (!('ingestionTimestamp' in event)) assert.fail(`${type} decoded without an ingestion time`);
      assert.equal(event.ingestionTimestamp, Number(ingested));
      assert.equal(event.market, 'spot');
    }
  }
  for (const type of ['trade', 'bookTicker', 'depth', 'kline']) assert.ok(seenTypes.has(type), `${type} read: ${[...seenTypes].join(',')}`);
});
