import type { Admin } from '@platformatic/kafka';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';

/** How a topic is created: partitions, replication factor, retention (ms). */
export interface TopicSpec {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly retentionMs: number;
}

/**
 * Creates the missing topics and checks the existing ones. A topic with fewer partitions than
 * configured is an error rather than something to fix silently: adding partitions moves keys to
 * other partitions, which breaks per-symbol ordering for data already in the topic.
 */
export async function ensureTopics(admin: Admin, names: readonly string[], spec: TopicSpec): Promise<void> {
  const missing = await checkExisting(admin, names, spec);
  if (missing.length === 0) return;
  try {
    await admin.createTopics({
      topics: missing,
      partitions: spec.partitions,
      replicas: spec.replicationFactor,
      configs: [{ name: 'retention.ms', value: String(spec.retentionMs) }],
    });
  } catch (err) {
    // Another process may have created some at the same moment (TOPIC_ALREADY_EXISTS), and the
    // request fails as a whole; what matters is that they all exist with enough partitions. New
    // topics take a moment to show up in metadata, hence the few looks.
    let stillMissing = missing;
    for (let look = 0; look < 10 && stillMissing.length > 0; look++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stillMissing = await checkExisting(admin, stillMissing, spec);
    }
    if (stillMissing.length > 0) {
      throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `cannot create Kafka topics ${stillMissing.join(', ')}: ${errorMessage(err)}`, {
        cause: err,
        canRetry: true,
      });
    }
  }
}

/** Returns the topics that do not exist; throws BUS_TOPIC_MISMATCH for under-partitioned ones. */
async function checkExisting(admin: Admin, names: readonly string[], spec: TopicSpec): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const present = names.filter((name) => existing.has(name));
  if (present.length > 0) {
    const metadata = await admin.metadata({ topics: present, forceUpdate: true });
    for (const name of present) {
      const count = metadata.topics.get(name)?.partitionsCount ?? 0;
      if (count < spec.partitions) {
        throw new TickflowError(
          ErrorCodes.BUS_TOPIC_MISMATCH,
          `Kafka topic ${name} has ${count} partition(s) but bus.partitions is ${spec.partitions}; ` +
            `recreate the topic or lower bus.partitions (adding partitions would re-key existing data)`,
        );
      }
    }
  }
  return names.filter((name) => !existing.has(name));
}
