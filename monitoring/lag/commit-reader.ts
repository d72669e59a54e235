/**
 * Reads offset commits from `__consumer_offsets`, as Burrow does, and hands them to the monitor with their
 * broker-side commit times (offsets-topic.ts says why the admin API is not enough).
 *
 * kafkajs has no assign()-style consumer, so the reader joins a throwaway group of its own (`parley-lag-<uuid>`,
 * which the monitor ignores), is its only member, reads from the beginning and never commits; the broker drops
 * the empty group after it leaves. With a fixed list of groups, only the `__consumer_offsets` partitions those
 * groups hash to are read (the others are paused at every join, since kafkajs forgets pauses across rejoins).
 * The topic is read read_committed, so commits made inside an aborted transaction (`sendOffsets`) never count.
 *
 * `start()` resolves once the reader has caught up with the end of those partitions as of the start, so a
 * one-shot `parley lag` judges windows filled with the recent history the log still holds. Catch-up is tracked
 * with END_BATCH_PROCESS's lastOffset, which counts transaction markers that eachBatch never sees (the same
 * reason as topology/backend/kafka/read-partition.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Admin, EachBatchPayload, Kafka } from 'kafkajs';
import { decodeOffsetCommit, offsetsPartitionFor, type OffsetCommit } from './offsets-topic.ts';

export const OFFSETS_TOPIC = '__consumer_offsets';

export interface CommitReaderOptions {
  kafka: Kafka;
  admin: Pick<Admin, 'fetchTopicOffsets'>;
  /** Read only the partitions these groups commit to; default every partition. */
  groups?: readonly string[];
  /** Receives the commits of each fetched batch, in log order. A rejection is reported, not retried. */
  onCommits(commits: OffsetCommit[]): Promise<unknown>;
  onError?(error: Error): void;
  /** Longest wait for catching up in start(); default 60 s. */
  catchUpTimeoutMs?: number;
  maxWaitTimeMs?: number;
}

export class CommitReader {
  readonly groupId = `parley-lag-${randomUUID()}`;
  readonly #options: CommitReaderOptions;
  readonly #consumer;
  readonly #position = new Map<number, number>();
  #wanted: Set<number> | undefined;
  #targets = new Map<number, number>();
  #caughtUp: (() => void) | undefined;

  constructor(options: CommitReaderOptions) {
    this.#options = options;
    this.#consumer = options.kafka.consumer({
      groupId: this.groupId,
      readUncommitted: false,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      heartbeatInterval: 1000,
    });
  }

  async start(): Promise<void> {
    const ends = await this.#options.admin.fetchTopicOffsets(OFFSETS_TOPIC);
    const count = ends.length;
    if (this.#options.groups) {
      this.#wanted = new Set(this.#options.groups.map((g) => offsetsPartitionFor(g, count)));
    }
    for (const { partition, high, low } of ends) {
      if (this.#wants(partition) && Number(high) > Number(low)) this.#targets.set(partition, Number(high));
    }
    const caughtUp = new Promise<void>((resolve) => (this.#caughtUp = resolve));
    const consumer = this.#consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      const others = ends.map((e) => e.partition).filter((p) => !this.#wants(p));
      if (others.length > 0) consumer.pause([{ topic: OFFSETS_TOPIC, partitions: others }]);
    });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      this.#advance(payload.partition, Number(payload.lastOffset) + 1);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) this.#options.onError?.(payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [OFFSETS_TOPIC], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.#onBatch(payload) });
    this.#checkCaughtUp();
    const timeoutMs = this.#options.catchUpTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${OFFSETS_TOPIC}: not caught up after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([caughtUp, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await this.#consumer.disconnect();
  }

  #wants(partition: number): boolean {
    return this.#wanted === undefined || this.#wanted.has(partition);
  }

  async #onBatch({ batch }: EachBatchPayload): Promise<void> {
    if (!this.#wants(batch.partition)) return;
    const commits: OffsetCommit[] = [];
    for (const message of batch.messages) {
      try {
        const commit = decodeOffsetCommit(message.key, message.value);
        if (commit) commits.push(commit);
      } catch (error) {
        this.#options.onError?.(error as Error); // one undecodable record must not hide the others
      }
    }
    try {
      if (commits.length > 0) await this.#options.onCommits(commits);
    } catch (error) {
      // Not rethrown: kafkajs would fetch the batch again and again. Those commits miss their windows.
      this.#options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
    this.#advance(batch.partition, Number(batch.lastOffset()) + 1);
  }

  #advance(partition: number, position: number): void {
    this.#position.set(partition, Math.max(this.#position.get(partition) ?? 0, position));
    this.#checkCaughtUp();
  }

  #checkCaughtUp(): void {
    if (!this.#caughtUp) return;
    for (const [partition, target] of this.#targets) {
      if ((this.#position.get(partition) ?? 0) < target) return;
    }
    this.#caughtUp();
    this.#caughtUp = undefined;
  }
}
