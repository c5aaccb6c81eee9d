import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';

/**
 * A heartbeat record (JSON) on the heartbeat stream: proof that the producer is alive even when the
 * market is quiet, and its counters for a consumer that watches the sink from the Kinesis side.
 */
export interface HeartbeatRecord {
  readonly type: 'heartbeat';
  readonly sink: string;
  /** The data stream the counters are about. */
  readonly stream: string;
  /** Epoch ms when the heartbeat was made. */
  readonly at: number;
  /** Records accepted by Kinesis since start. */
  readonly sent: number;
  readonly deadLetters: number;
  /** Records held, not yet delivered. */
  readonly buffered: number;
  readonly breaker: string;
}

/** Sends one heartbeat (PutRecord, partition key = sink name); throws the SDK's error on failure. */
export async function sendHeartbeat(client: KinesisClient, streamName: string, record: HeartbeatRecord): Promise<void> {
  await client.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: record.sink, Data: Buffer.from(JSON.stringify(record)) }));
}
