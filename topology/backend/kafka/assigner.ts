/**
 * A co-partitioning assignor: partition p of every subscribed topic goes to the same member, members taking
 * partition numbers round-robin in member-id order. A task is a sub-topology × input partition and reads
 * partition p of each of its (co-partitioned) source topics, so those must never be split between members;
 * kafkajs's RoundRobinAssigner spreads topic-partitions one by one and does split them (with 3 partitions and 2
 * members, A-2 and B-0 land together). The memory backend assigns the same way (memory/groups.ts).
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

const { MemberAssignment, MemberMetadata } = AssignerProtocol;

export const NAME = 'ParleyCoPartitionedAssigner';
const VERSION = 0;

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: NAME,
  version: VERSION,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of [...topics].sort()) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const owner = assignment.get(memberIds[partitionId % memberIds.length]!)!;
        (owner[topic] ??= []).push(partitionId);
      }
    }
    return [...assignment].map(([memberId, byTopic]) => ({
      memberId,
      memberAssignment: MemberAssignment.encode({ version: VERSION, assignment: byTopic, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: NAME, metadata: MemberMetadata.encode({ version: VERSION, topics, userData: Buffer.alloc(0) }) };
  },
});
