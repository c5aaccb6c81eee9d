import { decodeEvent, encodeEvent } from '../../bus/kafka/codec.js';
import type { Codec } from './codec.js';

/**
 * UTF-8 JSON of the normalized event, exactly the Kafka record value (docs/kafka.md "Records"):
 * its `type` field says what it is, so it needs no header.
 */
export const jsonCodec: Codec = {
  name: 'json',
  encode: encodeEvent,
  decode: (bytes) => decodeEvent(bytes, undefined),
};
