import client from 'prom-client';

/**
 * Every Prometheus series tickflow exports, in one registry per process. Names follow Prometheus
 * conventions (base units in the name, `_total` for counters); label values are bounded by
 * configuration (symbols, stream types, tables, topics), never by data.
 */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tickflow_' });
  const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

  const m = {
    registry,
    messagesReceived: new client.Counter({
      name: 'tickflow_messages_received_total',
      help: 'Market messages received from the exchange, by instrument and stream type',
      labelNames: ['exchange', 'market', 'symbol', 'stream'] as const,
      registers: [registry],
    }),
    eventsProduced: new client.Counter({
      name: 'tickflow_events_produced_total',
      help: 'Events accepted by the bus, by topic',
      labelNames: ['topic'] as const,
      registers: [registry],
    }),
    produceLatency: new client.Histogram({
      name: 'tickflow_produce_latency_seconds',
      help: 'Time from handing a batch to the bus until it was acknowledged',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    processingLatency: new client.Histogram({
      name: 'tickflow_processing_latency_seconds',
      help: 'Time the stream processor spent on one delivered batch',
      buckets: latencyBuckets,
      registers: [registry],
    }),
    ingestLatency: new client.Histogram({
      name: 'tickflow_ingest_latency_seconds',
      help: 'ingestion_timestamp minus exchange event time',
      labelNames: ['stream'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    endToEndLatency: new client.Histogram({
      name: 'tickflow_end_to_end_latency_seconds',
      help: 'Exchange event time until the row was committed to the database',
      labelNames: ['table'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    reconnects: new client.Counter({
      name: 'tickflow_websocket_reconnects_total',
      help: 'WebSocket reconnections, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    connectionState: new client.Gauge({
      name: 'tickflow_websocket_connected',
      help: '1 while the WebSocket connection is open',
      labelNames: ['connection'] as const,
      registers: [registry],
    }),
    gaps: new client.Counter({
      name: 'tickflow_gaps_detected_total',
      help: 'Holes found in trade or aggTrade id sequences',
      labelNames: ['exchange', 'market', 'symbol', 'stream'] as const,
      registers: [registry],
    }),
    missingIds: new client.Counter({
      name: 'tickflow_gap_missing_ids_total',
      help: 'Ids missing in detected gaps',
      labelNames: ['exchange', 'market', 'symbol', 'stream'] as const,
      registers: [registry],
    }),
    deadLetters: new client.Counter({
      name: 'tickflow_dead_letters_total',
      help: 'Inputs sent to the dead-letter store, by origin and reason',
      labelNames: ['origin', 'reason'] as const,
      registers: [registry],
    }),
    duplicatesDropped: new client.Counter({
      name: 'tickflow_duplicates_dropped_total',
      help: 'Events dropped because an identical id was already seen (connection overlap)',
      labelNames: ['stream'] as const,
      registers: [registry],
    }),
    kafkaBatchSize: new client.Histogram({
      name: 'tickflow_kafka_batch_records',
      help: 'Records per Kafka produce batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers: [registry],
    }),
    consumerLag: new client.Gauge({
      name: 'tickflow_consumer_lag_records',
      help: 'Processing lag: records after the last one the group processed, per group, topic and partition',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
    }),
    consumerRecoveryDistance: new client.Gauge({
      name: 'tickflow_consumer_recovery_distance_records',
      help: 'Records processed but not yet committed (read again after a crash; the processor keeps its open windows there), per group, topic and partition',
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
    }),
    rowsWritten: new client.Counter({
      name: 'tickflow_rows_written_total',
      help: 'Rows written to the database, by table',
      labelNames: ['table'] as const,
      registers: [registry],
    }),
    writeLatency: new client.Histogram({
      name: 'tickflow_write_latency_seconds',
      help: 'Time to write one batch, by table',
      labelNames: ['table'] as const,
      buckets: latencyBuckets,
      registers: [registry],
    }),
    bookResyncs: new client.Counter({
      name: 'tickflow_book_resyncs_total',
      help: 'Local order book (re)starts from a REST depth snapshot, by reason (start, sequence, snapshot_mismatch, too_old)',
      labelNames: ['exchange', 'market', 'symbol', 'reason'] as const,
      registers: [registry],
    }),
    bookSequenceBreaks: new client.Counter({
      name: 'tickflow_book_sequence_breaks_total',
      help: 'Diff-depth events that did not follow the local order book (Binance update-id rules); each discards the book',
      labelNames: ['exchange', 'market', 'symbol'] as const,
      registers: [registry],
    }),
    bookInSync: new client.Gauge({
      name: 'tickflow_book_in_sync',
      help: '1 while the local order book is in step with the diff stream',
      labelNames: ['exchange', 'market', 'symbol'] as const,
      registers: [registry],
    }),
    lateEvents: new client.Counter({
      name: 'tickflow_late_events_total',
      help: 'Events behind the watermark',
      labelNames: ['exchange', 'market', 'symbol'] as const,
      registers: [registry],
    }),
    openWindows: new client.Gauge({
      name: 'tickflow_open_windows',
      help: 'Event-time windows not yet final',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    sinkBatchRecords: new client.Histogram({
      name: 'tickflow_sink_batch_records',
      help: 'Records per request a sink sent (Kinesis PutRecords), by sink',
      labelNames: ['sink'] as const,
      buckets: [1, 10, 50, 100, 200, 300, 400, 500],
      registers: [registry],
    }),
    sinkBatchBytes: new client.Histogram({
      name: 'tickflow_sink_batch_bytes',
      help: 'Bytes per request a sink sent (data and partition keys), by sink',
      labelNames: ['sink'] as const,
      buckets: [1_024, 16_384, 65_536, 262_144, 1_048_576, 2_097_152, 5_242_880],
      registers: [registry],
    }),
    sinkRecords: new client.Counter({
      name: 'tickflow_sink_records_total',
      help: 'Records by sink and outcome: sent (accepted), retried (sent again after a failure), dead_letter',
      labelNames: ['sink', 'outcome'] as const,
      registers: [registry],
    }),
    sinkFailures: new client.Counter({
      name: 'tickflow_sink_failures_total',
      help: 'Failed sink requests (a whole call, or a call with failed records), by sink and reason',
      labelNames: ['sink', 'reason'] as const,
      registers: [registry],
    }),
    sinkDeadLetters: new client.Counter({
      name: 'tickflow_sink_dead_letters_total',
      help: 'Records a sink gave up on and wrote to its dead-letter file, by sink and reason',
      labelNames: ['sink', 'reason'] as const,
      registers: [registry],
    }),
    sinkBreakerState: new client.Gauge({
      name: 'tickflow_sink_breaker_state',
      help: 'Circuit breaker of a sink: 0 closed, 1 half-open, 2 open',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    sinkBuffered: new client.Gauge({
      name: 'tickflow_sink_buffered_records',
      help: 'Records held by a sink, not yet delivered or dead-lettered',
      labelNames: ['sink'] as const,
      registers: [registry],
    }),
    sinkHeartbeats: new client.Counter({
      name: 'tickflow_sink_heartbeats_total',
      help: 'Heartbeat records by sink and outcome (sent, failed)',
      labelNames: ['sink', 'outcome'] as const,
      registers: [registry],
    }),
    healedGaps: new client.Counter({
      name: 'tickflow_heal_gaps_total',
      help: 'Trade/aggTrade gaps healing finished, by outcome (healed, partial, failed)',
      labelNames: ['exchange', 'market', 'stream', 'status'] as const,
      registers: [registry],
    }),
    healedRows: new client.Counter({
      name: 'tickflow_heal_rows_total',
      help: 'Trades and aggTrades fetched over REST to fill gaps and stored (ids already stored excluded)',
      labelNames: ['exchange', 'market', 'stream'] as const,
      registers: [registry],
    }),
    healQueue: new client.Gauge({
      name: 'tickflow_heal_queued_gaps',
      help: 'Gaps waiting in the heal queue (more may wait in the gaps table)',
      registers: [registry],
    }),
    restResponses: new client.Counter({
      name: 'tickflow_rest_responses_total',
      help: 'Binance REST responses (book snapshots, gap healing), by market and HTTP status',
      labelNames: ['market', 'status'] as const,
      registers: [registry],
    }),
    restWeightUsed: new client.Gauge({
      name: 'tickflow_rest_weight_used',
      help: 'REQUEST_WEIGHT used in the current minute as X-MBX-USED-WEIGHT-1M last reported it, by market',
      labelNames: ['market'] as const,
      registers: [registry],
    }),
  };
  return m;
}

/** The process's Prometheus metrics (createMetrics), one registry per process. */
export type Metrics = ReturnType<typeof createMetrics>;
