import type { Migration } from './migration.js';

/**
 * Per-shard read positions of the Kinesis bus (`bus.kind=kinesis`, src/bus/kinesis/): for each
 * consumer group (tickflow-store, tickflow-process) and shard, the sequence number of the last
 * record whose effects are durable — the Kafka committed offset's counterpart. Sequence numbers
 * are decimal strings of up to 129 digits (56 in practice), hence an unbounded numeric, which also
 * compares them as numbers.
 */
export const migration008: Migration = {
  version: 8,
  name: 'kinesis-checkpoints',
  sql: `
    CREATE TABLE IF NOT EXISTS kinesis_checkpoints (
      consumer_group  text          NOT NULL,
      stream          text          NOT NULL,
      shard_id        text          NOT NULL,
      sequence_number numeric       NOT NULL,
      updated_at      timestamptz   NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer_group, stream, shard_id)
    );
  `,
};
