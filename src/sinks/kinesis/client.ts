import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Where the Kinesis client connects: region, an endpoint override, per-call timeout (ms). */
export interface KinesisEndpoint {
  readonly region: string;
  /** Another endpoint than AWS's regional one (kinesalite, LocalStack, a VPC endpoint). */
  readonly endpoint?: string | undefined;
  /** Connect and response timeout of one call, ms. */
  readonly requestTimeoutMs: number;
}

/**
 * The Kinesis client of the sink and the Kinesis bus: no SDK retries (ours retry only failed
 * records, behind the breaker; the SDK's would resend whole batches) and HTTP/1.1 — the SDK's
 * default Kinesis handler is HTTP/2, which only SubscribeToShard needs and kinesalite does not
 * speak. `credentials` unset: the AWS SDK's default chain.
 */
export function createKinesisClient(target: KinesisEndpoint, credentials?: KinesisClientConfig['credentials']): KinesisClient {
  return new KinesisClient({
    region: target.region,
    ...(target.endpoint !== undefined ? { endpoint: target.endpoint } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: target.requestTimeoutMs, requestTimeout: target.requestTimeoutMs }),
  });
}
