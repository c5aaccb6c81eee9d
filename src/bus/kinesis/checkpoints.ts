import type { Queryable } from '../../store/database.js';

/**
 * The Kinesis bus's committed positions (migration 008): per consumer group and shard, the
 * sequence number of the last record whose effects are durable. A later commit never moves a
 * position back (the greater number wins), as Kafka offsets only move forward.
 */
export async function loadCheckpoints(db: Queryable, group: string, stream: string): Promise<Map<string, string>> {
  const rows = await db.query<{ shard_id: string; sequence_number: string }>(
    'SELECT shard_id, sequence_number::text AS sequence_number FROM kinesis_checkpoints WHERE consumer_group = $1 AND stream = $2',
    [group, stream],
  );
  return new Map(rows.map((r) => [r.shard_id, r.sequence_number]));
}

/**
 * Stores `positions` (shard id → sequence number of the last durable record) for `group` on `stream`
 * in one upsert; a stored position is only ever raised, never lowered. Nothing to do for an empty map.
 * Errors are the database's.
 */
export async function saveCheckpoints(db: Queryable, group: string, stream: string, positions: ReadonlyMap<string, bigint>): Promise<void> {
  const shards = [...positions.keys()];
  if (shards.length === 0) return;
  await db.query(
    `INSERT INTO kinesis_checkpoints (consumer_group, stream, shard_id, sequence_number)
     SELECT $1, $2, shard, seq::numeric FROM unnest($3::text[], $4::text[]) AS p(shard, seq)
     ON CONFLICT (consumer_group, stream, shard_id) DO UPDATE
       SET sequence_number = EXCLUDED.sequence_number, updated_at = now()
       WHERE kinesis_checkpoints.sequence_number < EXCLUDED.sequence_number`,
    [group, stream, shards, shards.map((s) => positions.get(s)!.toString())],
  );
}
