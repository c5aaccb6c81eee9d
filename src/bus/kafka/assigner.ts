import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from '@platformatic/kafka';

/**
 * Round-robin over each topic's subscribers only. The library's default gives every member the
 * leader's topics, so one member subscribed to other topics (another deployment sharing the group
 * name, a leftover process) leaves this group's partitions unassigned and consumption stalls.
 * Topics the leader has no metadata for cannot be assigned by it and are left to their owners.
 */
export const subscriptionAwareAssigner: GroupPartitionsAssigner = (_current, members, _topics, metadata) => {
  const assignments = new Map<string, GroupPartitionsAssignments>();
  for (const memberId of members.keys()) assignments.set(memberId, { memberId, assignments: new Map() });
  const subscribers = new Map<string, string[]>();
  for (const [memberId, subscription] of members) {
    for (const topic of subscription.topics ?? []) subscribers.set(topic, [...(subscribers.get(topic) ?? []), memberId]);
  }
  let next = 0;
  for (const [topic, memberIds] of [...subscribers].sort(([a], [b]) => a.localeCompare(b))) {
    const partitionsCount = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const sorted = [...memberIds].sort();
    for (let partition = 0; partition < partitionsCount; partition++) {
      const member = assignments.get(sorted[next++ % sorted.length]!)!;
      const entry = member.assignments.get(topic) ?? { topic, partitions: [] };
      entry.partitions.push(partition);
      member.assignments.set(topic, entry);
    }
  }
  return [...assignments.values()];
};
