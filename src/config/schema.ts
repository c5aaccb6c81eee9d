import { z } from 'zod';
import { CANDLE_INTERVALS, KLINE_INTERVALS } from '../core/intervals.js';
import { sinksOptions } from '../sinks/options.js';
import { REST_MARKETS } from '../sources/binance/rest-markets.js';
import { timerMs, timerMsOrZero } from './timers.js';
import { httpUrl, wsUrl } from './urls.js';

/**
 * The one configuration schema. Every object is strict (an unknown key is an error), every leaf
 * has a default, and `Config` is derived from it. Documented key by key in README "Configuration".
 */

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const ms = nonNegativeInt;
/** A TCP port; 0 lets the system pick a free one. */
const portMessage = { message: 'expected a port number from 0 to 65535 (0 picks a free port)' };
const port = z.number().int(portMessage).min(0, portMessage).max(65_535, portMessage);

/** Binance stream types a source subscribes to; klines are `kline_<interval>` (core/intervals.ts). */
const STREAM_TYPES = ['trade', 'aggTrade', 'bookTicker', 'depth'] as const;
const streamName = z.string().regex(new RegExp(`^(${STREAM_TYPES.join('|')}|kline_(${KLINE_INTERVALS.join('|')}))$`), {
  message: 'expected trade, aggTrade, bookTicker, depth or kline_<interval> (e.g. kline_1m)',
});
const symbol = z
  .string()
  .regex(/^[A-Za-z0-9]{2,20}$/, { message: 'expected a Binance symbol such as BTCUSDT' })
  .transform((s) => s.toUpperCase());

const backoff = z.strictObject({
  initialMs: timerMs.default(1_000),
  maxMs: timerMs.default(60_000),
  /** A new connection must stay up this long before the backoff resets. */
  healthyAfterMs: timerMs.default(30_000),
});

const marketName = z.enum(['spot', 'usdm'], { error: 'expected spot or usdm' });
/**
 * One market a `tickflow run` ingests. A bare name (`usdm`) takes the source-wide symbols and the
 * market's Binance URLs; the object form overrides them (e.g. to point each market at its own
 * simulator or proxy).
 */
const marketEntry = z.union([
  marketName.transform((market) => ({ market })),
  z.strictObject({
    market: marketName,
    symbols: z.array(symbol).min(1).optional(),
    wsBaseUrl: wsUrl.optional(),
    restBaseUrl: httpUrl.optional(),
  }),
]);

const source = z.strictObject({
  /** `binance` (live), `sim` (in-process simulator) or `replay:<file>`. */
  kind: z
    .string()
    .regex(/^(binance|sim|replay:.+)$/, { message: 'expected binance, sim or replay:<file>' })
    .default('binance'),
  /** The market when `markets` is empty; the API's default market. */
  market: marketName.default('spot'),
  /**
   * Several markets at once, e.g. [spot, usdm]: one connection set per market, every record keyed
   * by (exchange, market, symbol). Empty: just `market`. The first entry is the API's default.
   */
  markets: z.array(marketEntry).default([]),
  symbols: z.array(symbol).min(1).default(['BTCUSDT', 'ETHUSDT']),
  streams: z.array(streamName).min(1).default(['trade', 'aggTrade', 'bookTicker', 'depth', 'kline_1m']),
  wsBaseUrl: wsUrl.default('wss://stream.binance.com:9443'),
  restBaseUrl: httpUrl.default('https://api.binance.com'),
  /** Binance allows 1024 streams per connection. */
  maxStreamsPerConnection: z.number().int().min(1).max(1024).default(1024),
  /**
   * Reconnect when nothing at all (data, server ping, pong to our probe ping) arrives for this long.
   * Data proves a connection alive whatever the server's ping cadence (spot 20 s documented, ~3 min
   * observed; USD-M 3 min); a quiet connection is probed with a ping after a third of it.
   */
  stallTimeoutMs: timerMs.default(30_000),
  /** Open the replacement connection this long into a connection's life (Binance cuts at 24 h). */
  rotateAfterMs: timerMs.default(23 * 3_600_000 + 30 * 60_000),
  /** After a rotation switched over, the old connection stays open this long so nothing in flight is lost. */
  rotationOverlapMs: timerMs.default(2_000),
  /** A hole in trade/aggTrade ids is reported only if no late (reordered) id fills it within this time. */
  gapGraceMs: timerMs.default(1_000),
  backoff: backoff.default(backoff.parse({})),
  /** Replay speed: 0 = as fast as the pipeline takes it, 1 = real time, 10 = ten times faster. */
  speed: z.number().nonnegative().default(0),
  /**
   * Unit of the exchange times on the wire. MICROSECOND opens spot streams with
   * `timeUnit=MICROSECOND` (Binance spot "WebSocket Streams"; USD-M has no such option); a replay
   * must name the unit its recording was made with.
   */
  timeUnit: z.enum(['MILLISECOND', 'MICROSECOND']).default('MILLISECOND'),
  /**
   * An exchange time (`E`, `T`) further than this from the receive time (a replay: the recorded
   * receive time) is a dead letter `implausible_time`, not a record.
   */
  maxClockSkewMs: positiveInt.default(86_400_000),
});

const simulator = z.strictObject({
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port (in-process use). */
  port: port.default(0),
  seed: nonNegativeInt.default(42),
  /** Trades per second per symbol produced by the generator. */
  tradesPerSecond: z.number().positive().default(20),
  /** bookTicker updates per second per symbol. */
  bookTickersPerSecond: z.number().positive().default(10),
  /** Recordings to replay instead of generating (the shared/data line format). */
  replayFiles: z.array(z.string()).default([]),
  replaySpeed: z.number().nonnegative().default(1),
  connectionLifetimeMs: timerMs.default(24 * 3_600_000),
  /** Server ping cadence; unset: the market's documented one (spot 20 s, USD-M 3 min). */
  pingIntervalMs: timerMs.optional(),
  /** Cut a client that did not answer a ping for this long; unset: spot 1 min, USD-M 10 min. */
  pongTimeoutMs: timerMs.optional(),
  /** REST REQUEST_WEIGHT per minute per IP before 429 (Binance spot: 6000). */
  weightLimitPerMinute: positiveInt.default(6_000),
  /** Trades and aggTrades kept per symbol for /api/v3/trades, /historicalTrades, /aggTrades. */
  historySize: positiveInt.default(100_000),
  /** Bytes queued towards one client before it is cut as a slow consumer (bounds the memory per client). */
  maxClientBufferBytes: positiveInt.default(64 * 1024 * 1024),
});

/**
 * Gap healing (trade and aggTrade ids fetched over REST) and `tickflow backfill`: both are
 * background REST work, held to their share of the weight budget so live requests (order-book
 * snapshots) keep headroom.
 */
const heal = z.strictObject({
  /** Fill every trade/aggTrade gap from REST (aggTrades?fromId=, historicalTrades?fromId=). */
  enabled: z.boolean().default(true),
  /**
   * Fraction of the safe REST weight budget (80 % of the market's REQUEST_WEIGHT per minute) that
   * healing and backfill may use; live requests may use all of it.
   */
  weightShare: z.number().gt(0).max(1).default(0.5),
  /** Gaps held in memory waiting to be healed; more wait in the gaps table and are read as room frees up. */
  maxQueuedGaps: positiveInt.default(100),
  /** Ids fetched for one gap at most: a larger one is healed up to this and marked partial. */
  maxIdsPerGap: positiveInt.default(1_000_000),
  /** How often the gaps table is read for gaps still to heal (new ones, and those left by an earlier process). */
  pollMs: timerMs.default(2_000),
  /** REST base URL that a replay's gaps are healed from (a recording names no endpoint); unset: replays are not healed. */
  replayRestBaseUrl: httpUrl.optional(),
});

/** A Kafka topic name as the broker accepts it (Kafka's Topic.validate: at most 249 of these characters). */
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { message: 'expected a Kafka topic name: 1-249 letters, digits, ".", "_" or "-"' });
const topics = z
  .strictObject({
    trades: topicName.default('binance.trades'),
    bookTicker: topicName.default('binance.book_ticker'),
    depth: topicName.default('binance.depth'),
    klines: topicName.default('binance.klines'),
    gaps: topicName.default('tickflow.gaps'),
    deadLetters: topicName.default('tickflow.dlq'),
    /** The processor's signals (candles, metrics, anomalies, whales) for `serve` and its alert engine. */
    signals: topicName.default('tickflow.signals'),
  })
  // A consumer tells a record's kind by its topic: two kinds on one topic would be refused as misplaced.
  .superRefine((t, ctx) => {
    const seen = new Map<string, string>();
    for (const [id, name] of Object.entries(t)) {
      const first = seen.get(name);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', message: `expected a topic of its own for each: bus.topics.${first} and bus.topics.${id} are both "${name}"` });
      seen.set(name, id);
    }
  });

/**
 * SASL authentication to Kafka. `none` connects without it; the others need username and password.
 * SCRAM is what hosted Kafka (Confluent Cloud, Aiven, MSK, Upstash) uses; PLAIN only makes sense
 * over TLS, since the password crosses the wire as is.
 */
const busSasl = z.strictObject({
  mechanism: z.enum(['none', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).default('none'),
  username: z.string().default(''),
  /** A secret: set it through TICKFLOW_BUS_SASL_PASSWORD_FILE or `file:/run/secrets/...`. */
  password: z.string().default(''),
});

/** TLS to Kafka. Files are PEM; empty means "not set" (the system's trusted CAs, no client certificate). */
const busTls = z.strictObject({
  enabled: z.boolean().default(false),
  /** CA certificate(s) to trust instead of the system's (a self-signed or private CA). */
  ca: z.string().default(''),
  /** Client certificate and its key, for brokers that require mutual TLS. */
  cert: z.string().default(''),
  key: z.string().default(''),
  /** The name the broker's certificate must carry, when it differs from the bootstrap host (SNI too). */
  serverName: z.string().default(''),
});

/** TLS to PostgreSQL beyond what `sslmode` in store.url says: PEM files, empty = not set. */
const storeTls = z.strictObject({
  /** CA to verify the server with (sslmode=verify-ca/verify-full); libpq's sslrootcert. */
  ca: z.string().default(''),
  /** Client certificate and key (libpq's sslcert/sslkey), for servers that authenticate by certificate. */
  cert: z.string().default(''),
  key: z.string().default(''),
});

/** The Kinesis bus (`bus.kind=kinesis`, docs/kinesis.md "Kinesis as the bus"): one stream carries every topic. */
const busKinesis = z.strictObject({
  streamName: z.string().min(1).max(128).default('tickflow-bus'),
  region: z.string().min(1).default('us-east-1'),
  /** Another endpoint than AWS's regional one (kinesalite, LocalStack). */
  endpoint: httpUrl.optional(),
  /** Wait between GetRecords calls of a shard that returned nothing (Kinesis allows 5 reads/s per shard). */
  pollMs: timerMs.default(250),
});

const bus = z.strictObject({
  kind: z.enum(['memory', 'kafka', 'kinesis']).default('memory'),
  brokers: z
    .array(
      z
        .string()
        .regex(/^[^:\s]+:\d+$/, { message: 'expected host:port' })
        .refine((b) => port.min(1).safeParse(Number(b.slice(b.lastIndexOf(':') + 1))).success, { message: 'expected host:port with a port from 1 to 65535' }),
    )
    .default(['127.0.0.1:9092']),
  clientId: z.string().default('tickflow'),
  topics: topics.default(topics.parse({})),
  partitions: positiveInt.default(3),
  replicationFactor: positiveInt.default(1),
  retentionMs: positiveInt.default(7 * 24 * 3_600_000),
  /** Batch time (ms): how long the Kafka producer waits to fill a batch (counted from ingest's receipt of its oldest record), and the in-process bus an idle consumer's. */
  lingerMs: timerMsOrZero.default(20),
  batchMaxBytes: positiveInt.default(1_048_576),
  /** Events buffered towards the broker before the source is slowed down. */
  maxBufferedEvents: positiveInt.default(100_000),
  autoOffsetReset: z.enum(['latest', 'earliest']).default('latest'),
  /** Consumer groups are <prefix>-store and <prefix>-process: one prefix per deployment sharing a broker. */
  groupPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, { message: 'expected letters, digits, ".", "_" or "-"' })
    .default('tickflow'),
  sasl: busSasl.default(busSasl.parse({})),
  tls: busTls.default(busTls.parse({})),
  kinesis: busKinesis.default(busKinesis.parse({})),
});

const store = z.strictObject({
  /**
   * `embedded` (a PostgreSQL server tickflow runs on dataDir/postgres) or a postgres:// URL;
   * `?sslmode=` disable, require, verify-ca or verify-full (libpq's meanings). A secret when it
   * holds a password.
   */
  url: z
    .string()
    .regex(/^(embedded|postgres(ql)?:\/\/.+)$/, { message: 'expected embedded or a postgres:// URL' })
    .default('embedded'),
  dataDir: z.string().default('./data'),
  /** Port on which the embedded database accepts PostgreSQL clients (psql, Grafana); 0 disables. */
  embeddedPort: port.default(5433),
  /** Listen address of that port; the default keeps it to this machine. */
  embeddedHost: z.string().min(1).default('127.0.0.1'),
  /** A secret: password of the embedded database's `tickflow` login; unset: generated on first start, kept in dataDir/pgpass. */
  embeddedPassword: z.string().min(8).optional(),
  /** statement_timeout of external sessions on the embedded database (psql, Grafana); 0: none. */
  clientStatementTimeoutMs: nonNegativeInt.default(60_000),
  /** idle_in_transaction_session_timeout of external sessions: ends a forgotten `BEGIN`; 0: none. */
  clientIdleInTransactionTimeoutMs: nonNegativeInt.default(120_000),
  /**
   * The most rows waiting behind the write in flight: past it the bus is held until that write
   * ends. A write carries everything that waited, so batches grow with a backlog (up to about this
   * plus one delivery) and are a few rows at low rates.
   */
  batchRows: positiveInt.default(500),
  /**
   * Accepted so existing configurations load; writes no longer wait for it: a write starts as soon
   * as the bus has handed over what it had and the previous write ended (docs/storage.md, Writer).
   */
  batchMs: timerMs.default(2_000),
  retentionDays: positiveInt.default(30),
  /** Backoff between attempts while the database is unavailable (the batch is kept, nothing is committed). */
  retryInitialMs: timerMs.default(500),
  retryMaxMs: timerMs.default(30_000),
  tls: storeTls.default(storeTls.parse({})),
});

const whaleOverride = z.record(z.string(), z.number().positive());

/**
 * The default thresholds of the processor's window flags, which the default alert rules and the
 * Grafana alerts (deploy/grafana/code/queries.ts) compare against too: one home, so a flag, an alert
 * and a panel's red line never disagree. volatilityRatio: price stddev / VWAP of a window (scale-free);
 * spreadWarningBps: a window's average spread in basis points of the mid; priceMovePct: |close − open|
 * / open of a window, in percent. Measured on the recordings: docs/alerts.md, docs/grafana.md.
 */
export const MARKET_RULE_DEFAULTS = { volatilityRatio: 0.002, spreadWarningBps: 10, priceMovePct: 2 } as const;

const processor = z.strictObject({
  enabled: z.boolean().default(true),
  candleIntervals: z.array(z.enum(CANDLE_INTERVALS)).default(['1m', '5m', '15m', '1h']),
  allowedLatenessMs: ms.default(10_000),
  triggerIntervalMs: timerMs.default(10_000),
  /** `correct` updates the stored window; `table` stores late events in late_events instead. */
  lateEvents: z.enum(['correct', 'table']).default('correct'),
  /** How long a final window stays correctable by late events (older ones go to late_events). */
  lateRetentionMs: positiveInt.default(3_600_000),
  /**
   * Empty candles filled at most between two trades of a symbol (the latest ones): bounds the work
   * one trade with an absurd time can cause. 1 440 = a day of 1m candles.
   */
  maxFillWindows: positiveInt.default(1_440),
  /**
   * The trade stream candles and trade metrics are built from; the other one is ignored so nothing
   * counts twice. `auto`: trade when source.streams has it, else aggTrade.
   */
  tradeStream: z.enum(['auto', 'trade', 'aggTrade']).default('auto'),
  metricsWindowMs: positiveInt.default(60_000),
  spreadWindowMs: positiveInt.default(30_000),
  /** Flag volatility when price stddev / VWAP exceeds this (scale-free). */
  volatilityRatio: z.number().positive().default(MARKET_RULE_DEFAULTS.volatilityRatio),
  volumeSpikeFactor: z.number().positive().default(3),
  volumeSpikeLookback: positiveInt.default(20),
  priceMovePct: z.number().positive().default(MARKET_RULE_DEFAULTS.priceMovePct),
  /**
   * Also warn when a window's average spread exceeds this multiple of its minimum. Unset by default:
   * BTCUSDT's spread is one tick (0.01, ~0.002 bps) most of the time, so an average of a few ticks —
   * still far below a basis point — tripped a factor of 3 in nearly every 30 s window (issue 12).
   */
  spreadWarningFactor: z.number().positive().optional(),
  /** Warn when a window's average spread exceeds this many basis points of the mid price. */
  spreadWarningBps: z.number().positive().default(MARKET_RULE_DEFAULTS.spreadWarningBps),
  whaleNotional: z.number().positive().default(100_000),
  whaleNotionalBySymbol: whaleOverride.default({}),
  smaLengths: z.array(positiveInt).default([20, 50]),
  emaLengths: z.array(positiveInt).default([12, 26]),
});

/**
 * The live local order book (docs/book.md): one per symbol of every market whose streams include
 * `depth`, from a REST depth snapshot plus the diff stream, in `tickflow run` and `tickflow ingest`.
 */
const book = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Levels per side kept in book_snapshots and served by GET /api/book by default. */
    depth: z.number().int().min(1).max(1_000).default(20),
    /** How often the top `depth` levels are snapshotted into book_snapshots (only when the book moved). */
    snapshotMs: timerMs.default(1_000),
    /**
     * Levels per side of the REST depth snapshot a book starts from. Its request weight is the
     * market's for that limit (spot 1000 → 50, USD-M 1000 → 20).
     */
    restLimit: z.number().int().min(5).max(5_000).default(1_000),
    /** Consecutive resyncs of one symbol wait at least this long, doubling up to resyncMaxMs: a storm stays bounded. */
    resyncMinMs: timerMs.default(1_000),
    resyncMaxMs: timerMs.default(60_000),
    /** Snapshot requests per market per minute at most, whatever breaks (each also waits for the REST weight budget). */
    maxSnapshotsPerMinute: positiveInt.default(20),
  })
  .refine((b) => b.resyncMinMs <= b.resyncMaxMs, { path: ['resyncMaxMs'], message: 'expected at least book.resyncMinMs (the backoff grows from min to max)' });

const api = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: port.default(8080),
  /** Required when host is not a loopback address. Empty is refused: it would lock every client out of /api/* (no Bearer value can be empty). */
  token: z.string().min(1, 'expected a non-empty token (an empty one would refuse every /api request); leave api.token unset for none').optional(),
});

/** A duration: milliseconds, or a number with a unit — `500ms`, `30s`, `1m`, `4h`, `1d`. */
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const duration = z.union(
  [
    nonNegativeInt,
    z
      .string()
      .regex(/^\d+(ms|s|m|h|d)$/)
      .transform((s) => {
        const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(s) as RegExpExecArray;
        return Number(n) * (DURATION_UNITS[unit as string] as number);
      }),
  ],
  { error: 'expected a duration: milliseconds or a number with ms, s, m, h or d (e.g. 30s, 1m)' },
);

/**
 * What a rule watches. Window conditions compare each final metric window of an instrument with
 * the rule's threshold (volatility: price stddev / VWAP; spread: average spread in bps; volumeSpike:
 * volume / baseline mean; priceMove: |close/open − 1| in %). Event conditions hold for `within`
 * after each event (whale: notional in quote currency; gap: missing ids, `unhealed` only while not
 * healed). State conditions are sampled every `alerts.evaluateIntervalMs` (consumerLag: records
 * behind; sourceDisconnected: connections not open; noData: ms since a stream's last message).
 */
export const ALERT_CONDITIONS = [
  'volatility',
  'spread',
  'volumeSpike',
  'priceMove',
  'whale',
  'gap',
  'gapUnhealed',
  'consumerLag',
  'sourceDisconnected',
  'noData',
] as const;
/** The notifiers a rule can send to (alerts.rules[].notify). */
export const NOTIFIER_KINDS = ['smtp', 'webhook'] as const;

const alertRule = z.strictObject({
  /** Unique; names the rule in messages, the API and `tickflow alerts test <name>`. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'expected lower-case letters, digits, "-" or "_" (e.g. btc-spread-wide)' }),
  condition: z.enum(ALERT_CONDITIONS, { error: `expected one of ${ALERT_CONDITIONS.join(', ')}` }),
  /** Breached when the value is above it (the unit is the condition's, see ALERT_CONDITIONS). */
  threshold: z.number().nonnegative(),
  /** Per-symbol thresholds overriding `threshold` (symbol → value). */
  thresholds: z.record(z.string(), z.number().nonnegative()).default({}),
  /** Only these symbols (empty: every instrument). */
  symbols: z.array(symbol).default([]),
  /** How long the condition must hold before the alert fires (0: at once). */
  for: duration.default(0),
  /** Event conditions (whale, gap): how long after an event the condition holds. */
  within: duration.default(300_000),
  /** A window condition without any window for `noDataAfter`, or a state that cannot be read: ok, or alerting. */
  noData: z.enum(['ok', 'alerting']).default('ok'),
  noDataAfter: duration.default(300_000),
  /** Where notifications go (only enabled notifiers are used). */
  notify: z.array(z.enum(NOTIFIER_KINDS)).default(['smtp', 'webhook']),
  /** `symbol`: one notification per instrument; `rule`: what changes at one evaluation goes out as one message. */
  group: z.enum(['symbol', 'rule']).default('symbol'),
  /** Re-send a still firing alert after this long; 0: never. */
  repeat: duration.default(14_400_000),
  /** Send a notification when the alert resolves. */
  sendResolved: z.boolean().default(true),
});

const smtp = z.strictObject({
  enabled: z.boolean().default(false),
  host: z.string().default('127.0.0.1'),
  port: port.default(587),
  /** `starttls`: upgrade a plain connection (port 587), required; `tls`: TLS from the start (465); `none`: plain (a local relay only). */
  security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
  username: z.string().default(''),
  /** A secret: set it through TICKFLOW_ALERTS_SMTP_PASSWORD_FILE or `file:/run/secrets/...`. */
  password: z.string().default(''),
  /** PEM CA to trust instead of the system's (a private relay). */
  ca: z.string().default(''),
  from: z.string().default('tickflow@localhost'),
  to: z.array(z.string()).default([]),
  timeoutMs: timerMs.default(10_000),
});

const webhook = z.strictObject({
  enabled: z.boolean().default(false),
  url: z.string().default(''),
  /** A secret: HMAC-SHA256 key of the X-Tickflow-Signature header. */
  secret: z.string().default(''),
  /** Attempts per notification (5xx, 429, network), with backoff from retryInitialMs up to retryMaxMs. */
  attempts: positiveInt.default(5),
  retryInitialMs: timerMs.default(1_000),
  retryMaxMs: timerMs.default(60_000),
  timeoutMs: timerMs.default(10_000),
});

/**
 * The default rules, measured on the real recordings in ../shared/data (docs/alerts.md, script
 * bench/alert-rates.ts): each fires rarely and means something there.
 */
export const DEFAULT_ALERT_RULES: z.input<typeof alertRule>[] = [
  { name: 'volatility', condition: 'volatility', threshold: MARKET_RULE_DEFAULTS.volatilityRatio, for: '1m' },
  { name: 'spread-wide', condition: 'spread', threshold: MARKET_RULE_DEFAULTS.spreadWarningBps, for: '1m' },
  { name: 'volume-spike', condition: 'volumeSpike', threshold: 10, for: 0, repeat: '1h' },
  { name: 'price-move', condition: 'priceMove', threshold: MARKET_RULE_DEFAULTS.priceMovePct, for: 0 },
  { name: 'whale', condition: 'whale', threshold: 5_000_000, for: 0, within: '1m', sendResolved: false },
  { name: 'gap-unhealed', condition: 'gapUnhealed', threshold: 0, for: '5m', within: '1h' },
  { name: 'consumer-lag', condition: 'consumerLag', threshold: 100_000, for: '2m' },
  { name: 'source-disconnected', condition: 'sourceDisconnected', threshold: 0, for: '1m' },
  { name: 'no-data', condition: 'noData', threshold: 120_000, for: '1m' },
];

const alerts = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** How often state conditions are sampled and pending alerts checked against `for`. */
    evaluateIntervalMs: timerMs.default(10_000),
    /** Base URL of the dashboard in messages; empty: http://api.host:api.port. */
    dashboardUrl: z.string().default(''),
    rules: z.array(alertRule).default(DEFAULT_ALERT_RULES.map((r) => alertRule.parse(r))),
    smtp: smtp.default(smtp.parse({})),
    webhook: webhook.default(webhook.parse({})),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${r.name}"` });
      seen.add(r.name);
    });
    if (a.smtp.enabled && a.smtp.to.length === 0)
      ctx.addIssue({ code: 'custom', path: ['smtp', 'to'], message: 'alerts.smtp is enabled but has no recipients' });
    if (a.webhook.enabled && !/^https?:\/\/.+/.test(a.webhook.url))
      ctx.addIssue({ code: 'custom', path: ['webhook', 'url'], message: 'alerts.webhook is enabled: expected an http(s):// URL' });
  });

const ops = z.strictObject({
  /**
   * Port for /live, /ready, /health and /metrics in roles without the API; 0 picks a free port.
   * `auto`: one port per role so they can share a host (ingest 9464, store 9465, process 9466).
   */
  healthPort: z
    .preprocess(
      (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
      z.union([z.literal('auto'), port], { error: 'expected auto or a port number from 0 to 65535 (0 picks a free port)' }),
    )
    .default('auto'),
  /** Bind address of that port; 0.0.0.0 in containers so Prometheus can scrape it. */
  healthHost: z.string().default('127.0.0.1'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** `auto`: pretty on a terminal, JSON otherwise. */
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
  shutdownTimeoutMs: timerMs.default(15_000),
  /** The live terminal status line (`auto`: only on a terminal). */
  statusLine: z.enum(['auto', 'on', 'off']).default('auto'),
});

/**
 * The whole configuration: one strict section per part, every key with its default (README
 * "Configuration"); an unknown key is an error.
 */
export const configSchema = z
  .strictObject({
    source: source.default(source.parse({})),
    simulator: simulator.default(simulator.parse({})),
    heal: heal.default(heal.parse({})),
    bus: bus.default(bus.parse({})),
    store: store.default(store.parse({})),
    processor: processor.default(processor.parse({})),
    book: book.default(book.parse({})),
    api: api.default(api.parse({})),
    ops: ops.default(ops.parse({})),
    /** Publish-only outputs next to the bus, e.g. [{ kind: kinesis, streamName: ... }] (docs/kinesis.md); none by default. */
    sinks: sinksOptions,
    alerts: alerts.default(alerts.parse({})),
  })
  .superRefine((c, ctx) => {
    if (c.source.market === 'usdm' && c.source.timeUnit === 'MICROSECOND') {
      ctx.addIssue({ code: 'custom', path: ['source', 'timeUnit'], message: 'USD-M streams have no timeUnit option; use MILLISECOND with source.market=usdm' });
    }
    // A limit the market refuses would fail every snapshot, so no book would ever sync.
    const markets = new Set([c.source.market, ...c.source.markets.map((m) => m.market)]);
    for (const market of markets) {
      const limits = REST_MARKETS[market].depthLimits;
      if (c.book.enabled && limits !== null && !limits.includes(c.book.restLimit)) {
        ctx.addIssue({ code: 'custom', path: ['book', 'restLimit'], message: `${market} depth snapshots accept a limit of ${limits.join(', ')} only` });
      }
    }
  });

/** The validated configuration (defaults applied), as loadConfig returns it, frozen. */
export type Config = z.infer<typeof configSchema>;

/**
 * Keys whose whole value is a secret: never logged, shown or quoted in an error (src/ops/redact.ts).
 * store.url is not here: only the password inside it is secret, and redaction keeps the rest.
 */
export const SECRET_KEYS = ['api.token', 'bus.sasl.password', 'store.embeddedPassword', 'alerts.smtp.password', 'alerts.webhook.secret'] as const;
/** One alert rule as validated (durations in ms). */
export type AlertRule = Config['alerts']['rules'][number];
/** What a rule watches (ALERT_CONDITIONS). */
export type AlertCondition = AlertRule['condition'];
/** A configuration as written (file, tests): every key optional, durations may be text such as `5m`. */
export type ConfigInput = z.input<typeof configSchema>;
