import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { observeCommits } from '../support/bus.js';
import type { Bus, Delivery } from '../../src/bus/bus.js';
import { decodeRecord, SCHEMA_HEADER, SCHEMA_VERSION, TYPE_HEADER } from '../../src/bus/kafka/codec.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { configSchema } from '../../src/config/schema.js';
import type { AggTradeEvent, DeadLetterEvent, KlineEvent, PipelineEvent, TradeEvent } from '../../src/core/events.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import type { Database } from '../../src/store/database.js';
import { openPostgres } from '../../src/store/postgres.js';
import { startStoreWriter, type StoreWriter } from '../../src/store/writer.js';
import { DATABASE_KINDS, freePort, openMigrated, recordedEvents, syntheticTrades } from './fixtures.js';
import { btcTradeGap } from '../support/events.js';
import { waitFor } from '../support/wait.js';

const logger = silentLogger();
const KINDS = DATABASE_KINDS;

interface CommitRecord {
  readonly deliveries: readonly Delivery[];
  /** Rows in `trades` at the moment the writer committed. */
  readonly tradesStored: number;
}

/** The MemoryBus, with every BusConsumer.commit call recorded together with what the database held then. */
function recordingBus(inner: MemoryBus, db: Database, commits: CommitRecord[]): Bus {
  return observeCommits(inner, async (deliveries) => {
    const rows = await db.query<{ n: number }>('SELECT count(*) AS n FROM trades');
    commits.push({ deliveries, tradesStored: Number(rows[0]?.n) });
  });
}

interface Harness {
  readonly bus: MemoryBus;
  readonly writer: StoreWriter;
  readonly commits: CommitRecord[];
  readonly metrics: Metrics;
  readonly health: HealthRegistry;
}

async function startWriter(t: TestContext, db: Database, store: Record<string, number>, checkDb = db): Promise<Harness> {
  const config = configSchema.parse({ store: { retryInitialMs: 20, retryMaxMs: 200, ...store }, ops: { shutdownTimeoutMs: 2_000 } });
  const bus = new MemoryBus();
  const commits: CommitRecord[] = [];
  const metrics = createMetrics();
  const health = new HealthRegistry();
  const writer = await startStoreWriter({ config, bus: recordingBus(bus, checkDb, commits), db, logger, metrics, health });
  t.after(async () => {
    await writer.close().catch(() => undefined);
    await bus.close();
  });
  return { bus, writer, commits, metrics, health };
}

async function count(db: Database, table: string): Promise<number> {
  const rows = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n);
}

for (const kind of KINDS) {
  test(`${kind}: every event type round-trips exactly; trade and aggTrade with one id both kept; duplicates ignored`, async (t) => {
    const recorded = await recordedEvents(t, 40);
    if (!recorded) return;
    const db = await openMigrated(t, kind);
    const { bus, writer } = await startWriter(t, db, { batchRows: 10_000, batchMs: 3_600_000 });

    const first = recorded.trades[0]!;
    const agg: AggTradeEvent = {
      type: 'aggTrade',
      exchange: 'binance',
      market: 'spot',
      symbol: 'BTCUSDT',
      eventTime: first.eventTime,
      ingestionTimestamp: first.ingestionTimestamp,
      aggTradeId: first.tradeId,
      price: first.price,
      quantity: first.quantity,
      firstTradeId: first.tradeId,
      lastTradeId: first.tradeId + 2,
      tradeTime: first.tradeTime,
      buyerIsMaker: first.buyerIsMaker,
    };
    const kline = (closed: boolean, eventTime: number, close: string): KlineEvent => ({
      type: 'kline',
      exchange: 'binance',
      market: 'spot',
      symbol: 'BTCUSDT',
      eventTime,
      ingestionTimestamp: eventTime * 1000,
      interval: '1m',
      openTime: 1_723_161_240_000,
      closeTime: 1_723_161_299_999,
      firstTradeId: 1,
      lastTradeId: 9,
      open: '61837.63000000',
      high: '61900.00000000',
      low: '61800.10000000',
      close,
      volume: '12.50000000',
      quoteVolume: '772970.12345678',
      tradeCount: 9,
      takerBuyVolume: '6.00000000',
      takerBuyQuoteVolume: '371025.00000000',
      closed,
    });
    const gap = btcTradeGap(10, 12, 1_723_161_255_000, 'reconnect');
    const letter: DeadLetterEvent = {
      type: 'deadLetter',
      origin: 'binance-ws',
      reason: 'malformed_json',
      detail: 'Unexpected token',
      raw: '{"stream":',
      receivedAt: 1_723_161_255_001,
    };
    const events: PipelineEvent[] = [
      ...recorded.trades,
      agg,
      ...recorded.bookTickers,
      ...recorded.depths,
      kline(false, 1_723_161_260_000, '61850.00000000'),
      kline(true, 1_723_161_300_000, '61860.10000000'),
      gap,
      letter,
    ];
    await bus.publish(events);
    await bus.drain();
    await writer.flush();
    // The same events again (a redelivery), and the open candle's older push arriving late.
    await bus.publish([...events, kline(false, 1_723_161_250_000, '61000.00000000')]);
    await bus.drain();
    await writer.flush();

    assert.equal(await count(db, 'trades'), recorded.trades.length + 1);
    assert.equal(await count(db, 'book_ticker'), recorded.bookTickers.length);
    assert.equal(await count(db, 'depth_updates'), recorded.depths.length);
    assert.equal(await count(db, 'klines'), 1);
    assert.equal(await count(db, 'gaps'), 1);
    assert.equal(await count(db, 'dead_letters'), 1);
    assert.ok(writer.stats().duplicates >= events.length);

    const trades = await db.query<{ trade_id: number; price: string; quantity: string; us: string; ms: string }>(
      `SELECT trade_id, price::text AS price, quantity::text AS quantity,
              (extract(epoch FROM ingestion_timestamp) * 1000000)::bigint::text AS us,
              (extract(epoch FROM trade_time) * 1000)::bigint::text AS ms
       FROM trades WHERE kind = 'trade' ORDER BY trade_id`,
    );
    assert.deepEqual(
      trades.map((r) => [Number(r.trade_id), r.price, r.quantity, r.us, r.ms]),
      recorded.trades.map((e) => [e.tradeId, e.price, e.quantity, String(e.ingestionTimestamp), String(e.tradeTime)]),
    );
    const both = await db.query<{ kind: string; first_trade_id: number | null; last_trade_id: number | null }>(
      'SELECT kind, first_trade_id, last_trade_id FROM trades WHERE trade_id = $1 ORDER BY kind',
      [first.tradeId],
    );
    assert.deepEqual(
      both.map((r) => [r.kind, r.first_trade_id === null ? null : Number(r.first_trade_id), r.last_trade_id === null ? null : Number(r.last_trade_id)]),
      [
        ['aggTrade', first.tradeId, first.tradeId + 2],
        ['trade', null, null],
      ],
    );
    const book = await db.query<{ bid: string; ask_qty: string }>(
      'SELECT bid_price::text AS bid, ask_qty::text AS ask_qty FROM book_ticker ORDER BY update_id LIMIT 1',
    );
    assert.deepEqual(book[0], { bid: recorded.bookTickers[0]!.bidPrice, ask_qty: recorded.bookTickers[0]!.askQty });
    const depth = await db.query<{ bids: string; asks: string }>(
      'SELECT bids::text AS bids, asks::text AS asks FROM depth_updates ORDER BY final_update_id LIMIT 1',
    );
    assert.deepEqual(JSON.parse(depth[0]!.bids), recorded.depths[0]!.bids);
    assert.deepEqual(JSON.parse(depth[0]!.asks), recorded.depths[0]!.asks);
    const candle = await db.query<{ close: string; closed: boolean; quote_volume: string }>(
      'SELECT close::text AS close, closed, quote_volume::text AS quote_volume FROM klines',
    );
    assert.deepEqual(candle[0], { close: '61860.10000000', closed: true, quote_volume: '772970.12345678' });
  });

  test(`${kind}: a write starts once the input is drained, not after batchMs; rows arriving meanwhile form the next batch; offsets committed only after the write`, async (t) => {
    const db = await openMigrated(t, kind);
    // The first write waits at this gate (the database is slow), so what arrives meanwhile piles up.
    // A write is a transaction, or one INSERT on its own (a batch of one table).
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    const write = async <T>(run: () => Promise<T>): Promise<T> => {
      started += 1;
      if (started === 1) await gate;
      return run();
    };
    const slow: Database = {
      ...db,
      kind: db.kind,
      query: (sql, params) => (sql.includes('INSERT INTO') ? write(() => db.query(sql, params)) : db.query(sql, params)),
      transaction: (fn) => write(() => db.transaction(fn)),
    };
    // batchMs of an hour: every write below happens without the timer.
    const { bus, writer, commits } = await startWriter(t, slow, { batchRows: 5, batchMs: 3_600_000 }, db);
    await bus.publish(syntheticTrades(1));
    await waitFor('the first write, of the one row received', () => started === 1);
    await bus.publish(syntheticTrades(2, 2));
    await bus.publish(syntheticTrades(3, 4));
    await waitFor('five rows waiting behind the write in flight', () => writer.stats().pendingRows >= 1 + 5);
    assert.equal(commits.length, 0);
    open();
    await bus.publish(syntheticTrades(4, 7));
    await waitFor('the commit of every row', () => commits.at(-1)?.deliveries.at(-1)?.offset === 9n, { progress: () => commits.length });

    assert.deepEqual(
      commits[0]!.deliveries.map((d) => d.offset),
      [0n],
    );
    // The rows that arrived during the first write went out together, not one write per delivery.
    assert.ok(commits[1]!.deliveries.length >= 5, `second batch: ${commits[1]!.deliveries.length} rows`);
    for (const c of commits) assert.ok(c.tradesStored >= Number(c.deliveries.at(-1)!.offset) + 1, 'a commit after its rows are stored');
    assert.equal(await count(db, 'trades'), 10);
    assert.equal(writer.stats().pendingRows, 0);
  });

  test(`${kind}: a large batch is loaded with COPY, exactly; a batch with duplicates falls back to the INSERT, and COPY returns once an INSERT met none`, async (t) => {
    const db = await openMigrated(t, kind);
    const copies: number[] = [];
    // Counts the COPYs that loaded rows: the same database, its transactions watched.
    const watched: Database = {
      ...db,
      kind: db.kind,
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: (sql, params) => tx.query(sql, params),
            copyFrom: async (sql, text) => {
              const n = await tx.copyFrom!(sql, text);
              copies.push(n);
              return n;
            },
          }),
        ),
    };
    const { bus, writer } = await startWriter(t, watched, { batchRows: 5_000 }, db);
    let published = 0;
    const write = async (trades: TradeEvent[]) => {
      published += trades.length;
      await bus.publish(trades);
      const done = () => writer.stats().rowsInserted + writer.stats().duplicates;
      await waitFor(`${published} trades written`, () => done() >= published && writer.stats().pendingRows === 0, { progress: done });
    };
    // Values a COPY must carry as they are: 8 decimals, a backslash-free symbol, micro- and milliseconds.
    const first = syntheticTrades(1_500);
    await write(first);
    assert.deepEqual(copies, [1_500]);
    // 500 of these are stored already: the COPY fails whole, the INSERT skips them.
    await write([...first.slice(1_000), ...syntheticTrades(1_000, 1_501)]);
    assert.deepEqual(copies, [1_500]);
    assert.equal(writer.stats().duplicates, 500);
    // Right after duplicates the INSERT is used until one finds none; then COPY again.
    await write(syntheticTrades(1_000, 2_501));
    assert.deepEqual(copies, [1_500]);
    await write(syntheticTrades(1_000, 3_501));
    assert.deepEqual(copies, [1_500, 1_000]);
    assert.equal(writer.stats().rowsInserted, 4_500);

    const stored = await db.query<{ trade_id: number; price: string; us: string; ms: string; maker: boolean }>(
      `SELECT trade_id, price::text AS price, (extract(epoch FROM ingestion_timestamp) * 1000000)::bigint::text AS us,
              (extract(epoch FROM trade_time) * 1000)::bigint::text AS ms, buyer_is_maker AS maker
       FROM trades WHERE trade_id <= 1500 ORDER BY trade_id`,
    );
    assert.deepEqual(
      stored.map((r) => [Number(r.trade_id), r.price, r.us, r.ms, r.maker]),
      first.map((e) => [e.tradeId, e.price, String(e.ingestionTimestamp), String(e.tradeTime), e.buyerIsMaker]),
    );
  });

  test(`${kind}: a row the database refuses goes to dead_letters and the rest of the batch lands`, async (t) => {
    const db = await openMigrated(t, kind);
    const { bus, writer, metrics, commits } = await startWriter(t, db, { batchRows: 11, batchMs: 3_600_000 });
    const trades = syntheticTrades(10);
    const overflow = { ...trades[3]!, price: '1e999999' };
    const outOfRange = { ...trades[6]!, tradeId: 1e20 };
    trades[3] = overflow;
    trades[6] = outOfRange;
    // A record whose values cannot even be encoded (no raw text) is set aside the same way.
    const malformed = {
      type: 'deadLetter',
      origin: 'binance-ws',
      reason: 'malformed_json',
      detail: '',
      receivedAt: 1_723_161_255_001,
    } as unknown as DeadLetterEvent;
    await bus.publish([...trades, malformed]);
    await waitFor('the commit of the batch', () => commits.length === 1);

    assert.equal(await count(db, 'trades'), 8);
    const letters = await db.query<{ origin: string; reason: string; detail: string; raw: string }>(
      "SELECT origin, reason, detail, raw FROM dead_letters WHERE reason = 'rejected_by_database' ORDER BY detail",
    );
    assert.equal(letters.length, 2);
    for (const l of letters) {
      assert.equal(l.origin, 'store');
      assert.equal(l.reason, 'rejected_by_database');
      assert.match(l.detail, /^trades: 22003/);
    }
    assert.deepEqual(
      letters.map((l) => JSON.parse(l.raw) as TradeEvent).sort((a, b) => a.tradeTime - b.tradeTime),
      [overflow, outOfRange],
    );
    const unencodable = await db.query<{ detail: string; raw: string }>("SELECT detail, raw FROM dead_letters WHERE reason = 'unencodable'");
    assert.equal(unencodable.length, 1);
    assert.match(unencodable[0]!.detail, /^dead_letters: /);
    assert.deepEqual(JSON.parse(unencodable[0]!.raw), malformed);
    assert.equal(writer.stats().rejected, 3);
    const counted = (await metrics.deadLetters.get()).values.filter((v) => v.labels.origin === 'store');
    assert.equal(
      counted.reduce((sum, v) => sum + v.value, 0),
      3,
    );
    assert.equal(commits[0]!.deliveries.at(-1)!.offset, 0n);
    assert.equal(commits[0]!.deliveries.length, 11);
  });
}

test('postgres: a schema-1 Kafka record without its times is dead-lettered once; the batch is not written again on every flush', async (t) => {
  const db = await openMigrated(t, 'postgres');
  const { bus, writer, commits } = await startWriter(t, db, { batchRows: 3, batchMs: 3_600_000 });
  // The codec only shape-checks schema 1 (type and instrument): a foreign producer's trade without times gets through.
  const headers = new Map([
    [Buffer.from(TYPE_HEADER), Buffer.from('trade')],
    [Buffer.from(SCHEMA_HEADER), Buffer.from(SCHEMA_VERSION)],
  ]);
  const timeless = decodeRecord(
    Buffer.from('binance:spot:BTCUSDT'),
    Buffer.from('{"type":"trade","exchange":"binance","market":"spot","symbol":"BTCUSDT","tradeId":100,"price":"1.5","quantity":"2","buyerIsMaker":true}'),
    headers,
  ) as PipelineEvent;
  await bus.publish([...syntheticTrades(2), timeless]);
  await waitFor('the commit of the batch with the timeless trade', () => commits.length === 1);
  await bus.publish(syntheticTrades(3, 3));
  await waitFor('the commit of the next batch', () => commits.length === 2);
  assert.equal(writer.stats().pendingRows, 0);
  assert.equal(writer.stats().batches, 2);
  assert.equal(writer.stats().rejected, 1, 'the rejected row was written once');
  assert.equal(await count(db, 'trades'), 5);
  const letters = await db.query<{ detail: string }>("SELECT detail FROM dead_letters WHERE reason = 'rejected_by_database'");
  assert.deepEqual(
    letters.map((l) => l.detail.slice(0, 14)),
    ['trades: 22007 '],
  );
});

/** A TCP relay to the real server that can be switched off (refusing and cutting connections) and on again. */
class Outage {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: URL,
  ) {}

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

for (const kind of KINDS) {
  test(`${kind}: an error retrying cannot fix (a dropped table) halts the writer: health red with what to do, no retries, close returns`, async (t) => {
    const db = await openMigrated(t, kind);
    const { bus, writer, commits, health } = await startWriter(t, db, { batchRows: 5, batchMs: 3_600_000 });
    await db.query('DROP TABLE trades');
    await bus.publish(syntheticTrades(5));
    await waitFor('store health red', async () => (await health.evaluate()).components.store?.state === 'down');
    const reason = (await health.evaluate()).components.store?.reason ?? '';
    assert.match(reason, /relation "trades" does not exist/);
    assert.match(reason, /Restore it from a backup.*restart tickflow/);
    // More deliveries wait (uncommitted) instead of starting a retry loop.
    await bus.publish(syntheticTrades(5, 6));
    assert.equal(writer.stats().retries, 0);
    assert.equal(commits.length, 0);
    await assert.rejects(writer.close(), /does not exist/);
    assert.equal(writer.stats().retries, 0);
  });
}

test('postgres: while the server is unreachable the writer retries, commits nothing and loses nothing', async (t) => {
  const direct = await openMigrated(t, 'postgres');
  const target = new URL(
    (await direct.query<{ url: string }>("SELECT 'postgres://postgres@127.0.0.1:' || current_setting('port') || '/' || current_database() AS url"))[0]!.url,
  );
  const relay = new Outage(await freePort(), target);
  t.after(() => relay.down());
  const viaRelay = new URL(target);
  viaRelay.port = String(relay.port);
  const db = await openPostgres(viaRelay.toString(), { logger });
  t.after(() => db.close());
  const { bus, writer, commits, health } = await startWriter(t, db, { batchRows: 5, batchMs: 3_600_000 }, direct);

  // Refused: nothing listens on the relay port yet.
  await bus.publish(syntheticTrades(5));
  await waitFor('retries against a closed port', () => writer.stats().retries >= 2);
  assert.equal(commits.length, 0);
  const down = await health.evaluate();
  assert.equal(down.components.store?.state, 'down');
  assert.match(down.components.store?.reason ?? '', /cannot write to the database/);
  await bus.publish(syntheticTrades(3, 6));

  await relay.up();
  await waitFor('the commit after the server came back', () => commits.length >= 1);
  await writer.flush();
  assert.equal(await count(direct, 'trades'), 8);
  assert.equal((await health.evaluate()).components.store?.state, 'up');

  // Cut established connections: the pooled connection dies under the writer.
  await relay.down();
  const retriesBefore = writer.stats().retries;
  const committedBefore = commits.length;
  await bus.publish(syntheticTrades(5, 9));
  await waitFor('retries after the connection was cut', () => writer.stats().retries > retriesBefore);
  assert.equal(commits.length, committedBefore);
  await relay.up();
  await waitFor('the commit after the connection came back', () => commits.length > committedBefore);
  assert.equal(await count(direct, 'trades'), 13);
  const offsets = commits.flatMap((c) => c.deliveries.map((d) => d.offset));
  assert.equal(offsets.at(-1), 12n);
  await writer.close();
});
