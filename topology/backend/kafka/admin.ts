/**
 * Topics and offsets through kafkajs's admin client.
 */
import type { Admin, ITopicConfig } from 'kafkajs';
import type { TopicSpec } from '../../model.ts';
import { BackendError } from '../errors.ts';
import { KafkaError, toBackendError } from './errors.ts';
import { ADMIN_RETRY, retry } from './retry.ts';

/** Partition count of a topic, undefined when it does not exist (a metadata request, answered without retries). */
export async function partitionCount(admin: Admin, topic: string): Promise<number | undefined> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics.find((t) => t.name === topic)?.partitions.length;
  } catch (error) {
    if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
    throw toBackendError(error, `metadata of topic ${topic}`);
  }
}

/** Fails with UNKNOWN_TOPIC instead of letting kafkajs retry a missing topic for seconds. */
export async function requirePartitionCount(admin: Admin, topic: string): Promise<number> {
  const count = await partitionCount(admin, topic);
  if (count === undefined) throw new BackendError('UNKNOWN_TOPIC', `topic ${topic} does not exist`);
  return count;
}

function mismatch(topic: string, existing: number, requested: number): BackendError {
  return new BackendError(
    'PARTITION_COUNT_MISMATCH',
    `topic ${topic} exists with ${existing} partitions, but ${requested} were requested`,
  );
}

function topicConfig(spec: TopicSpec): ITopicConfig {
  const config: Record<string, string> = { ...spec.config };
  // A compacted topic must compact; `compact,delete` in the spec's own config already does.
  if (spec.compacted && !(config['cleanup.policy'] ?? '').includes('compact')) config['cleanup.policy'] = 'compact';
  return {
    topic: spec.name,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
  };
}

/** Checks every existing topic's partition count against its spec; returns the specs of missing topics. */
async function missingTopics(admin: Admin, specs: TopicSpec[]): Promise<TopicSpec[]> {
  const counts = await Promise.all(specs.map((spec) => partitionCount(admin, spec.name)));
  const missing: TopicSpec[] = [];
  specs.forEach((spec, i) => {
    const count = counts[i];
    if (count === undefined) missing.push(spec);
    else if (count !== spec.partitions) throw mismatch(spec.name, count, spec.partitions);
  });
  return missing;
}

/**
 * Waits until every partition of a new topic answers ListOffsets. kafkajs's waitForLeaders polls metadata but
 * gives up on UNKNOWN_TOPIC_OR_PARTITION (KRaft brokers learn of a new topic a moment after CreateTopics
 * returned), and a partition listed with a leader can still answer NOT_LEADER_FOR_PARTITION until that broker
 * has become its leader: both seen on Kafka 4.1 right after creation.
 */
async function awaitServing(admin: Admin, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const limits = { attemptsMax: Number.MAX_SAFE_INTEGER, delayInitialMs: 20, delayMaxMs: 500 };
  await retry(
    () => admin.fetchTopicOffsets(topic).catch((error: unknown) => Promise.reject(toBackendError(error, topic))),
    (error) => (error as { retriable?: boolean }).retriable === true && Date.now() < deadline,
    limits,
  );
}

/**
 * Creates the missing topics and waits until their partitions serve requests. Idempotent; an existing topic with
 * another partition count is an error naming the topic and both counts (also when a concurrent creator won).
 */
export async function createTopics(admin: Admin, specs: TopicSpec[], timeoutMs: number): Promise<void> {
  const byName = new Map<string, TopicSpec>();
  for (const spec of specs) {
    const seen = byName.get(spec.name);
    if (seen && seen.partitions !== spec.partitions) {
      throw new KafkaError('INVALID_REQUEST', `topic ${spec.name} requested twice with different partitions`, false);
    }
    byName.set(spec.name, spec);
  }
  const missing = await missingTopics(admin, [...byName.values()]);
  if (missing.length === 0) return;
  try {
    // Resolves false when every topic already existed (a concurrent creator): their counts are checked below.
    await admin.createTopics({ topics: missing.map(topicConfig), waitForLeaders: false, timeout: timeoutMs });
    await Promise.all(missing.map((spec) => awaitServing(admin, spec.name, timeoutMs)));
  } catch (error) {
    throw toBackendError(error, `creating topics ${missing.map((s) => s.name).join(', ')}`);
  }
  const stillMissing = await missingTopics(admin, missing);
  if (stillMissing.length > 0) {
    throw new KafkaError('TOPIC_NOT_CREATED', `topics ${stillMissing.map((s) => s.name).join(', ')} missing`, true);
  }
}

/** Retries what a leader change (or a topic just created) makes fail for a moment; kafkajs's admin does not. */
function withRetries<T>(what: string, action: () => Promise<T>): Promise<T> {
  return retry(
    () => action().catch((error: unknown) => Promise.reject(toBackendError(error, what))),
    (error) => (error as { retriable?: boolean }).retriable === true,
    ADMIN_RETRY,
  );
}

/**
 * Offset after the last readable record of every partition. kafkajs's admin sends ListOffsets at READ_COMMITTED
 * (it offers no other level), so under an open transaction this is the last stable offset; it equals the high
 * watermark once no transaction is open on the partition (checked in kafka-backend.test.ts).
 */
export async function endOffsets(admin: Admin, topic: string): Promise<number[]> {
  const count = await requirePartitionCount(admin, topic);
  const offsets = await withRetries(`end offsets of ${topic}`, () => admin.fetchTopicOffsets(topic));
  const result = new Array<number>(count).fill(0);
  for (const { partition, high } of offsets) result[partition] = Number(high);
  return result;
}

/** The group's committed offset per partition; kafkajs reports "none" as -1. */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<(number | undefined)[]> {
  const count = await requirePartitionCount(admin, topic);
  const [entry] = await withRetries(`committed offsets of group ${groupId} on ${topic}`, () =>
    admin.fetchOffsets({ groupId, topics: [topic] }),
  );
  const result = new Array<number | undefined>(count).fill(undefined);
  for (const { partition, offset } of entry?.partitions ?? []) {
    const value = Number(offset);
    if (value >= 0) result[partition] = value;
  }
  return result;
}
