/**
 * What the runtime needs from a log: topics, consumer groups with assignment callbacks, transactions, and
 * partition reads for restoring stores. Two implementations: `kafka` (kafkajs) and `memory` (in-process,
 * deterministic). They must agree on every visibility rule: read_committed consumers never see aborted or open
 * transactions; offsets sent in a transaction commit with it; a new transactional producer fences older ones
 * with the same id. topology/backend/contract.ts holds the tests both must pass.
 */
import type { TopicSpec } from '../model.ts';

export type BackendHeaders = Record<string, Buffer>;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface BackendRecord extends TopicPartition {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: BackendHeaders;
}

export interface OutgoingRecord {
  topic: string;
  /** Omitted: the default partitioner picks by key (murmur2, as Kafka's Java client and kafkajs do). */
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: BackendHeaders;
}

/** The next offset to read, per partition: what a group commits. */
export interface PartitionOffset extends TopicPartition {
  offset: number;
}

export interface RecordBatch extends TopicPartition {
  /** In offset order; never empty. */
  records: BackendRecord[];
  /** Offset after the last record in the partition when the batch was fetched. */
  highWatermark: number;
  /**
   * Offset after the last log entry this batch covered, transaction markers and aborted records included: the
   * consumer's position once the batch is consumed (a task needs it to know it has caught up).
   */
  nextOffset: number;
  /** Keeps the group membership alive during long work on this batch. */
  heartbeat(): Promise<void>;
}

export interface GroupHandler {
  /**
   * Partitions newly assigned to this member; no batch for them arrives before this resolves. It may resolve
   * with the offsets to start from (a task's committed input offsets): the backend then fetches from exactly
   * there instead of resolving the position itself.
   */
  onAssigned(partitions: TopicPartition[]): Promise<void | PartitionOffset[]>;
  /** Partitions taken away; called before another member can be given them. */
  onRevoked(partitions: TopicPartition[]): Promise<void>;
  /** One batch of one partition; the next batch of that partition waits until this resolves. */
  onBatch(batch: RecordBatch): Promise<void>;
  /**
   * The position moved over entries with nothing to deliver (only markers or aborted records). Optional: only
   * consumers that track positions (tasks waiting for a partition to catch up) need it.
   */
  onPosition?(position: TopicPartition & { nextOffset: number; highWatermark: number }): void;
  /**
   * The member failed and delivers nothing more: a handler callback rejected (`error` is what it rejected with;
   * the failed batch is not consumed) or the client gave up. Called once; the member has left or is leaving the
   * group, and stop() still runs onRevoked for what it held. Without onError the error is thrown uncaught.
   */
  onError?(error: unknown): void;
}

export interface GroupOptions {
  groupId: string;
  topics: string[];
  handler: GroupHandler;
  /** read_committed (true, for exactly_once) or read_uncommitted. */
  readCommitted: boolean;
  /** Where to start in partitions without a committed offset. */
  fromBeginning: boolean;
  sessionTimeoutMs?: number;
}

export interface GroupMember {
  readonly groupId: string;
  /** Stops fetching these partitions (back-pressure) until resumed; records already delivered stay delivered. */
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** Commits offsets outside a transaction (at_least_once). */
  commitOffsets(offsets: PartitionOffset[]): Promise<void>;
  /**
   * Gives up every partition (onRevoked) and joins the group again, as Kafka Streams does after a
   * TaskMigratedException: a fenced task may still look assigned to this member, and only a fresh join tells
   * what it owns now (onAssigned). Returns at once and runs after the batches in flight, so a handler may call it
   * from onBatch; calling it again while one is pending is harmless. A failure to rejoin fails the member (onError).
   */
  rejoin(): void;
  /** Leaves the group; onRevoked runs for every partition still assigned. */
  stop(): Promise<void>;
}

export interface TransactionalProducer {
  readonly transactionalId: string;
  begin(): Promise<void>;
  send(records: OutgoingRecord[]): Promise<void>;
  /** Offsets of the consumed input, committed to `groupId` if and only if the transaction commits. */
  sendOffsets(groupId: string, offsets: PartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  close(): Promise<void>;
}

export interface Producer {
  send(records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface Backend {
  readonly kind: 'kafka' | 'memory';
  /** Creates what is missing; an existing topic with another partition count is an error naming it. */
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Undefined when the topic does not exist. */
  partitionCount(topic: string): Promise<number | undefined>;
  /**
   * End of every partition as a read_committed reader sees it, in partition order: the last stable offset, which
   * is the high watermark whenever no transaction is open (kafkajs's admin lists offsets only at READ_COMMITTED).
   */
  endOffsets(topic: string): Promise<number[]>;
  /** Committed offset per partition, in partition order; undefined where the group has none. */
  committedOffsets(groupId: string, topic: string): Promise<(number | undefined)[]>;
  joinGroup(options: GroupOptions): Promise<GroupMember>;
  /** Initialising fences every earlier producer with this id and aborts its open transaction. */
  transactionalProducer(transactionalId: string): Promise<TransactionalProducer>;
  producer(): Promise<Producer>;
  /**
   * Reads committed records of one partition with offsets in [from, to), in batches, outside any group.
   * Used to restore stores from changelogs; `to` is usually the end offset read just before.
   */
  readPartition(
    topic: string,
    partition: number,
    from: number,
    to: number,
    onRecords: (records: BackendRecord[]) => Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}
