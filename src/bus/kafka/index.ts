export { KafkaBus, type KafkaBusDeps } from './kafka-bus.js';
export { decodeEvent, encodeEvent, SCHEMA_HEADER, SCHEMA_VERSION, TYPE_HEADER } from './codec.js';
export { ensureTopics, type TopicSpec } from './topics.js';
export { kafkaSecurity, type KafkaSecurity } from './security.js';
