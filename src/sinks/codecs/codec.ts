import type { PipelineEvent } from '../../core/events.js';

/**
 * How a sink turns an event into the bytes of one record and back. Sinks without record headers
 * (Kinesis) need the bytes to say what they hold, so every codec's output is self-describing.
 */
export interface Codec {
  /** `json` or `avro`: the config value that picks it. */
  readonly name: string;
  encode(event: PipelineEvent): Buffer;
  /** Throws TickflowError `TF_DECODE` for bytes that are not a record this codec knows. */
  decode(bytes: Buffer): PipelineEvent;
}
