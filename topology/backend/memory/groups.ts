/**
 * Consumer groups of the memory backend: membership, eager rebalancing and committed offsets.
 * Assignment gives partition p of every subscribed topic to the same member (co-partitioning: a task's inputs
 * stay together), spreading partition numbers round-robin over members sorted by id.
 */
import type { GroupHandler, PartitionOffset, TopicPartition } from '../types.ts';

export interface MemberState {
  id: string;
  groupId: string;
  topics: string[];
  handler: GroupHandler;
  readCommitted: boolean;
  fromBeginning: boolean;
  assigned: TopicPartition[];
  /** Next offset to fetch per "topic/partition". */
  positions: Map<string, number>;
  paused: Set<string>;
  /** Partitions with a batch being handled right now. */
  inFlight: Set<string>;
  /** False while a rebalance runs its callbacks: nothing is delivered to the member meanwhile. */
  ready: boolean;
  stopped: boolean;
  /** A handler rejected: the member delivers nothing more, but holds its partitions until stop(). */
  failed: boolean;
}

export const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

export class GroupState {
  readonly members: MemberState[] = [];
  readonly committed = new Map<string, number>();
  generation = 0;

  constructor(readonly groupId: string) {}

  commit(offsets: PartitionOffset[]): void {
    for (const o of offsets) this.committed.set(tpKey(o), o.offset);
  }

  /** The new assignment for every member; `partitionsOf` gives a topic's partition count. */
  assign(partitionsOf: (topic: string) => number): Map<MemberState, TopicPartition[]> {
    const live = this.members.filter((m) => !m.stopped).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const result = new Map<MemberState, TopicPartition[]>(live.map((m) => [m, []]));
    const topics = [...new Set(live.flatMap((m) => m.topics))].sort();
    const maxPartitions = Math.max(0, ...topics.map(partitionsOf));
    for (let partition = 0; partition < maxPartitions; partition++) {
      // Members subscribed to every topic that has this partition; round-robin by partition number.
      const wanted = topics.filter((t) => partition < partitionsOf(t));
      const candidates = live.filter((m) => wanted.some((t) => m.topics.includes(t)));
      if (candidates.length === 0) continue;
      const member = candidates[partition % candidates.length]!;
      for (const topic of wanted) if (member.topics.includes(topic)) result.get(member)!.push({ topic, partition });
    }
    return result;
  }
}
