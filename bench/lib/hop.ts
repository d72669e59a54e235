/**
 * Pieces of the hop-latency benchmark: a receiver that timestamps records arriving on the output topic, one
 * closed-loop sample, and a background writer that keeps a second input topic busy.
 */
import { performance } from 'node:perf_hooks';
import type { Kafka, Producer } from 'kafkajs';
import { consumerParity, deadline, producerParity } from './kafka.ts';
import type { Marks } from './trace.ts';

/** A read_committed consumer on the output; `expect(seq)` resolves with the time record `seq` arrives. */
export interface Receiver {
  expect(seq: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startReceiver(kafka: Kafka, topic: string, groupId: string): Promise<Receiver> {
  const waiters = new Map<number, (at: number) => void>();
  const consumer = kafka.consumer({ groupId, readUncommitted: false, ...consumerParity });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false, // nothing to resume from; a commit per record would only add work to the loop
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      for (const message of batch.messages) waiters.get(Number(message.value?.toString()))?.(at);
    },
  });
  return {
    expect: (seq) => new Promise((resolve) => waiters.set(seq, (at) => (waiters.delete(seq), resolve(at)))),
    stop: () => consumer.disconnect(),
  };
}

export interface Hop {
  name: string;
  input: string;
  /** Marks in the order they happen for one record: the breakdown's split points. */
  stages: string[];
  marks: Marks;
  receiver: Receiver;
  whenFailed: Promise<Error>;
  stop(): Promise<void>;
}

/**
 * One record through one hop: [total, ...split] in ms, the split taken at the hop's stages and at the
 * receiver. A split is NaN when its mark is older than the record (that step did not run for it).
 */
export async function sample(producer: Producer, hop: Hop, seq: number, timeoutMs: number): Promise<number[]> {
  const arrived = hop.receiver.expect(seq);
  const t0 = performance.now();
  await producer.send({ topic: hop.input, acks: -1, messages: [{ key: 'k', value: String(seq) }] });
  const failed = hop.whenFailed.then((error) => Promise.reject(error));
  const received = await deadline(Promise.race([arrived, failed]), timeoutMs, `${hop.name}: record ${seq}`);
  const points = [t0, ...hop.stages.map((s) => hop.marks.at(s) ?? Number.NaN), received];
  const split = points.slice(1).map((p, i) => (p >= points[i]! && p >= t0 ? p - points[i]! : Number.NaN));
  return [received - t0, ...split];
}

export interface SideWriterOptions {
  transactional: boolean;
  /** Pause after each write (after its commit, when transactional). */
  intervalMs: number;
  /** How long each transaction stays open between its send and its commit (plain: the same pause). */
  openMs: number;
  /** Names the transactional id; several writers may share a topic. */
  name: string;
  /** Delay before the first write, to stagger several writers. */
  startDelayMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes records to `topic` until stopped: the other input of a two-input task, as EPaxos tasks will have (their
 * inputs are other tasks' transactional outputs: each write ends with a commit marker, and with several writers
 * one transaction is often still open when another commits).
 */
export async function startSideWriter(kafka: Kafka, topic: string, options: SideWriterOptions) {
  const producer: Producer = kafka.producer({
    ...producerParity,
    ...(options.transactional ? { transactionalId: `${topic}-${options.name}` } : {}),
  });
  await producer.connect();
  const message = { topic, acks: -1, messages: [{ key: 'k', value: 'side' }] };
  let running = true;
  const loop = (async () => {
    await sleep(options.startDelayMs);
    while (running) {
      if (options.transactional) {
        const transaction = await producer.transaction();
        await transaction.send(message);
        await sleep(options.openMs);
        await transaction.commit();
      } else {
        await producer.send(message);
        await sleep(options.openMs);
      }
      await sleep(options.intervalMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop.catch(() => undefined);
      await producer.disconnect();
    },
  };
}

/**
 * Round trips of a plain OffsetCommit on this broker (ms, `count` in a row), from a member of a throwaway group
 * on `topic`. at_least_once hops commit offsets this way after each batch, before fetching the next.
 */
export async function offsetCommitTimes(kafka: Kafka, topic: string, groupId: string, count = 50): Promise<number[]> {
  const consumer = kafka.consumer({ groupId, ...consumerParity });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: async () => undefined });
    await deadline(joined, 30_000, `joining ${groupId}`);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await consumer.commitOffsets([{ topic, partition: 0, offset: '0' }]);
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    await consumer.disconnect();
  }
}
