export { KafkaBus, type KafkaBusDeps } from './kafka-bus.js';
export {
  decodeEvent,
  decodeRecord,
  encodeEvent,
  MAX_DEAD_LETTER_BYTES,
  RecordEncoder,
  INGESTED_HEADER,
  PAYLOAD_SCHEMA_VERSION,
  SCHEMA_HEADER,
  SCHEMA_VERSION,
  TIME_UNIT_HEADER,
  TYPE_HEADER,
} from './codec.js';
export { ensureTopics, type TopicSpec } from './topics.js';
export { kafkaSecurity, type KafkaSecurity } from './security.js';
