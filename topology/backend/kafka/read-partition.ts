/**
 * Reads committed records of one partition in [from, to), for restoring stores from changelogs.
 *
 * kafkajs has no assign()-style consumer: a consumer needs a group. This one joins a throwaway group of its own
 * (so it is the only member and owns every partition), pauses the other partitions, seeks to `from` at every join
 * (kafkajs forgets seeks when it restarts a consumer) and never commits: with autoCommit off, kafkajs's seek only
 * moves the fetch position (offsetManager.seek), so the group holds no offsets and the broker drops it once empty.
 *
 * Termination: the range may end in transaction markers or aborted records, which read_committed never delivers
 * to eachBatch. kafkajs still reports how far it consumed: END_BATCH_PROCESS carries the batch's lastOffset(),
 * which counts control and aborted records, also for batches "empty due to filtering" that skip eachBatch
 * (runner.js, handleBatch). Reading stops once that position reaches to - 1. Records of a transaction still open
 * at `to` are waited for (read_committed stops at the last stable offset) until it commits or aborts.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { BackendError } from '../errors.ts';
import type { BackendRecord } from '../types.ts';
import { requirePartitionCount } from './admin.ts';
import { coPartitionedAssigner } from './assigner.ts';
import { toBackendError } from './errors.ts';
import { toBackendRecord } from './records.ts';

export interface ReadSettings {
  clientId: string;
  maxWaitTimeMs: number;
  heartbeatIntervalMs: number;
}

export interface PartitionRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

export async function readPartition(
  kafka: Kafka,
  admin: Admin,
  range: PartitionRange,
  onRecords: (records: BackendRecord[]) => Promise<void>,
  settings: ReadSettings,
): Promise<void> {
  const { topic, partition, from, to } = range;
  if (from >= to) return;
  const partitions = await requirePartitionCount(admin, topic);
  if (partition < 0 || partition >= partitions) {
    throw new BackendError('UNKNOWN_PARTITION', `topic ${topic} has no partition ${partition}`);
  }
  const consumer = kafka.consumer({
    groupId: `${settings.clientId}-read-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
    partitionAssigners: [coPartitionedAssigner],
  });
  const reader = new RangeReader(range, onRecords);
  const others = Array.from({ length: partitions }, (_, p) => p).filter((p) => p !== partition);
  consumer.on(consumer.events.GROUP_JOIN, () => {
    consumer.seek({ topic, partition, offset: String(reader.position) });
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.partition === partition) reader.consumedUpTo(Number(payload.lastOffset));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) reader.fail(toBackendError(payload.error, `reading ${topic}-${partition}`));
  });
  try {
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatch: (payload) => reader.onBatch(payload) });
    } catch (error) {
      throw toBackendError(error, `reading ${topic}-${partition} [${from}, ${to})`);
    }
    await reader.done; // rejects with onRecords' own error, unchanged
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** The reading state: the next offset wanted, and a promise settled when the range is consumed or failed. */
class RangeReader {
  position: number;
  readonly done: Promise<void>;
  #finished = false;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor(
    private readonly range: PartitionRange,
    private readonly onRecords: (records: BackendRecord[]) => Promise<void>,
  ) {
    this.position = range.from;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  async onBatch({ batch }: EachBatchPayload): Promise<void> {
    const { topic, partition, from, to } = this.range;
    if (this.#finished || batch.partition !== partition) return;
    const records = batch.messages
      .filter((m) => Number(m.offset) >= Math.max(from, this.position) && Number(m.offset) < to)
      .map((m) => toBackendRecord(topic, partition, m));
    try {
      if (records.length > 0) await this.onRecords(records);
    } catch (error) {
      // Not rethrown into kafkajs, which would fetch and hand over the same records again.
      this.fail(error);
      return;
    }
    this.position = Math.max(this.position, Number(batch.lastOffset()) + 1);
  }

  /** `lastOffset` counts markers and aborted records (see the header). */
  consumedUpTo(lastOffset: number): void {
    this.position = Math.max(this.position, lastOffset + 1);
    if (this.position >= this.range.to && !this.#finished) {
      this.#finished = true;
      this.#resolve();
    }
  }

  fail(error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#reject(error);
  }
}
