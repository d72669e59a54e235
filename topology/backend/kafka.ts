/**
 * The `kafka` backend, on kafkajs 2.2.4 (works with Kafka 4.1: integration/tests/kafka-backend.test.ts runs the
 * backend contract, topology/backend/contract.ts, against a real broker). The pieces live in ./kafka/:
 *
 * - admin.ts: topics (idempotent create, partition-count check, leaders awaited) and offsets.
 * - group.ts: consumer groups; assignment callbacks derived from kafkajs's GROUP_JOIN event (kafkajs rebalances
 *   eagerly and has no revocation callback: read the header there before relying on onRevoked's timing).
 * - assigner.ts: co-partitioned assignment (partition p of every topic to one member).
 * - producers.ts: the plain and the transactional producer (fencing at creation, sticky fenced state).
 * - read-partition.ts: reading a partition range outside any group, and why it terminates.
 * - records.ts, errors.ts: conversions, the shared partitioner hook, kafkajs errors → code + retriable.
 */
import { Kafka, logLevel as kafkaLogLevel, type Admin } from 'kafkajs';
import type { TopicSpec } from '../model.ts';
import { BackendError } from './errors.ts';
import { committedOffsets, createTopics, endOffsets, partitionCount, requirePartitionCount } from './kafka/admin.ts';
import { toBackendError } from './kafka/errors.ts';
import { KafkaGroupMember, type GroupSettings } from './kafka/group.ts';
import { createPlainProducer, KafkaTransactionalProducer } from './kafka/producers.ts';
import { readPartition } from './kafka/read-partition.ts';
import type { Backend, BackendRecord, GroupMember, GroupOptions, Producer, TransactionalProducer } from './types.ts';

export { KafkaError } from './kafka/errors.ts';

export interface KafkaBackendOptions {
  brokers: string[];
  clientId: string;
  /** kafkajs's own logging; default 'error' (it logs retried coordinator errors at ERROR while a broker loads). */
  logLevel?: 'nothing' | 'error' | 'warn' | 'info' | 'debug';
  /**
   * How often group members heartbeat. kafkajs learns of a rebalance only from a heartbeat (sent between fetches),
   * so this bounds how long a rebalance waits for this member. Default 1000 (Kafka's default is 3000).
   */
  heartbeatIntervalMs?: number;
  /** Longest a fetch waits for data (fetch.max.wait.ms): also how late a resume() takes effect. Default 500. */
  maxWaitTimeMs?: number;
  /** Partitions whose batches are handled at the same time by one member; default 1. */
  partitionsConsumedConcurrently?: number;
  /** transaction.timeout.ms: how long an abandoned transaction blocks read_committed readers. Default 60000. */
  transactionTimeoutMs?: number;
  /** CreateTopics timeout, also the wait for partition leaders. Default 10000. */
  createTopicsTimeoutMs?: number;
}

const LOG_LEVELS = {
  nothing: kafkaLogLevel.NOTHING,
  error: kafkaLogLevel.ERROR,
  warn: kafkaLogLevel.WARN,
  info: kafkaLogLevel.INFO,
  debug: kafkaLogLevel.DEBUG,
} as const;

interface Closeable {
  close(): Promise<void>;
}

class KafkaBackend implements Backend {
  readonly kind = 'kafka' as const;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #options: Required<KafkaBackendOptions>;
  readonly #open = new Set<Closeable>();
  #closed = false;

  constructor(kafka: Kafka, admin: Admin, options: Required<KafkaBackendOptions>) {
    this.#kafka = kafka;
    this.#admin = admin;
    this.#options = options;
  }

  #assertOpen(): void {
    if (this.#closed) throw new BackendError('BACKEND_CLOSED', `kafka backend ${this.#options.clientId} is closed`);
  }

  /** Registers a resource for close(); the returned close() releases it once and forgets it. */
  #register(close: () => Promise<void>): () => Promise<void> {
    const entry: Closeable = { close };
    this.#open.add(entry);
    return async () => {
      if (this.#open.delete(entry)) await close();
    };
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.#assertOpen();
    await createTopics(this.#admin, topics, this.#options.createTopicsTimeoutMs);
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    this.#assertOpen();
    return partitionCount(this.#admin, topic);
  }

  async endOffsets(topic: string): Promise<number[]> {
    this.#assertOpen();
    return endOffsets(this.#admin, topic);
  }

  async committedOffsets(groupId: string, topic: string): Promise<(number | undefined)[]> {
    this.#assertOpen();
    return committedOffsets(this.#admin, groupId, topic);
  }

  async joinGroup(options: GroupOptions): Promise<GroupMember> {
    this.#assertOpen();
    // kafkajs would retry a missing topic's metadata for seconds before failing.
    for (const topic of options.topics) await requirePartitionCount(this.#admin, topic);
    const settings: GroupSettings = {
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      maxWaitTimeMs: this.#options.maxWaitTimeMs,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently,
    };
    const member = new KafkaGroupMember(this.#kafka, options, settings);
    await member.start();
    const stop = this.#register(() => member.stop());
    return {
      groupId: member.groupId,
      pause: (partitions) => member.pause(partitions),
      resume: (partitions) => member.resume(partitions),
      commitOffsets: (offsets) => member.commitOffsets(offsets),
      rejoin: () => member.rejoin(),
      // A second stop() (or one after close()) waits for the first: KafkaGroupMember.stop is idempotent.
      stop: async () => {
        await stop();
        await member.stop();
      },
    };
  }

  async transactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    this.#assertOpen();
    const producer = await KafkaTransactionalProducer.create(this.#kafka, transactionalId, {
      transactionTimeoutMs: this.#options.transactionTimeoutMs,
    });
    const close = this.#register(() => producer.close());
    return {
      transactionalId,
      begin: () => producer.begin(),
      send: (records) => producer.send(records),
      sendOffsets: (groupId, offsets) => producer.sendOffsets(groupId, offsets),
      commit: () => producer.commit(),
      abort: () => producer.abort(),
      close,
    };
  }

  async producer(): Promise<Producer> {
    this.#assertOpen();
    const producer = await createPlainProducer(this.#kafka);
    return { send: (records) => producer.send(records), close: this.#register(() => producer.close()) };
  }

  async readPartition(
    topic: string,
    partition: number,
    from: number,
    to: number,
    onRecords: (records: BackendRecord[]) => Promise<void>,
  ): Promise<void> {
    this.#assertOpen();
    await readPartition(this.#kafka, this.#admin, { topic, partition, from, to }, onRecords, {
      clientId: this.#options.clientId,
      maxWaitTimeMs: this.#options.maxWaitTimeMs,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
    });
  }

  /** Stops group members (running their onRevoked), closes producers, then the admin client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const open = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(open.map((resource) => resource.close()));
    await this.#admin.disconnect();
  }
}

export async function createKafkaBackend(options: KafkaBackendOptions): Promise<Backend> {
  const settings: Required<KafkaBackendOptions> = {
    logLevel: 'error',
    heartbeatIntervalMs: 1000,
    maxWaitTimeMs: 500,
    partitionsConsumedConcurrently: 1,
    transactionTimeoutMs: 60_000,
    createTopicsTimeoutMs: 10_000,
    ...options,
  };
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: LOG_LEVELS[settings.logLevel],
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw toBackendError(error, `connecting to Kafka at ${settings.brokers.join(',')}`);
  }
  return new KafkaBackend(kafka, admin, settings);
}
