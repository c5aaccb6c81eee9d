import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { CreateStreamCommand, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import kinesalite from 'kinesalite';
import { createKinesisClient } from '../../src/sinks/kinesis/client.js';
import { kinesisSinkOptions, type KinesisSinkOptions } from '../../src/sinks/options.js';

/** Kinesalite signs nothing it checks, but the SDK must sign: any static credentials do. */
export const TEST_CREDENTIALS = { accessKeyId: 'tickflow-test', secretAccessKey: 'tickflow-test' };

export interface Kinesalite {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly client: KinesisClient;
  /** Creates a stream with `shards` shards (kinesalite makes it ACTIVE at once with createStreamMs 0). */
  createStream(name: string, shards?: number): Promise<void>;
  /** Every record of every shard from TRIM_HORIZON, shard by shard, in sequence order. */
  readStream(name: string): Promise<StoredRecord[]>;
}

export interface StoredRecord {
  readonly shardId: string;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly data: Buffer;
}

/**
 * A private kinesalite (the real Kinesis API on an in-memory LevelDB) in this process on a free
 * port, closed after the test. In-process rather than scripts/services/kinesalite.sh: tests run
 * concurrently and must not share streams or ports.
 */
export async function startKinesalite(t: TestContext): Promise<Kinesalite> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = kinesisClient(endpoint);
  t.after(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    endpoint,
    client,
    async createStream(name, shards = 2) {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
    },
    readStream: (name) => readStream(client, name),
  };
}

export function kinesisClient(endpoint: string): KinesisClient {
  return createKinesisClient({ region: 'us-east-1', endpoint, requestTimeoutMs: 10_000 }, TEST_CREDENTIALS);
}

/** Reads each shard with GetShardIterator(TRIM_HORIZON) + GetRecords until a page comes back empty (the tip). */
export async function readStream(client: KinesisClient, name: string): Promise<StoredRecord[]> {
  const described = await client.send(new DescribeStreamCommand({ StreamName: name }));
  const out: StoredRecord[] = [];
  for (const shard of described.StreamDescription?.Shards ?? []) {
    let iterator = (await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })))
      .ShardIterator;
    while (iterator !== undefined) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? []) {
        out.push({ shardId: shard.ShardId!, partitionKey: r.PartitionKey!, sequenceNumber: r.SequenceNumber!, data: Buffer.from(r.Data!) });
      }
      // An empty page is the tip; MillisBehindLatest is no help (kinesalite says 0 for a full page of fresh records).
      if ((page.Records ?? []).length === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** Sink options for a test: short timers, the given endpoint and streams. */
export function testSinkOptions(endpoint: string, overrides: Partial<KinesisSinkOptions> = {}): KinesisSinkOptions {
  return kinesisSinkOptions.parse({
    kind: 'kinesis',
    endpoint,
    streamName: 'events',
    heartbeatStreamName: 'heartbeat',
    batchMs: 50,
    retryInitialMs: 10,
    retryMaxMs: 100,
    breakerCooldownMs: 200,
    requestTimeoutMs: 5_000,
    ...overrides,
  });
}
