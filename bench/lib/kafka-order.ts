/**
 * Baseline (b) of the consensus benchmark: one Kafka partition as the total order. A decision is one record
 * (its keys and value) appended by an idempotent producer with acks=all, and it is decided once the one reader
 * of the partition has read it back: its place in the log is its place in the order.
 *
 * kafkajs's idempotent producer sends one Produce request at a time per broker, and a send() is one request;
 * a Java or librdkafka producer instead gathers whatever was sent while a request was in flight into the next
 * one. The producer here does that too (records handed over while a request is out go together in the next),
 * so the baseline is Kafka used the way its own clients use it, not kafkajs's request-per-send.
 */
import type { Kafka, Producer } from 'kafkajs';
import { consumerParity, deadline, producerParity } from './kafka.ts';

export interface KafkaOrder {
  decide(keys: string[], value: string): Promise<number>;
  /** Produce requests sent and records in them so far (how much the batching gathered). */
  requests(): { requests: number; records: number };
  stop(): Promise<void>;
}

interface Queued {
  message: { key: string; value: string };
  resolve(): void;
  reject(error: Error): void;
}

export async function startKafkaOrder(kafka: Kafka, topic: string, groupId: string): Promise<KafkaOrder> {
  const producer: Producer = kafka.producer(producerParity);
  await producer.connect();
  const consumer = kafka.consumer({ groupId, readUncommitted: false, ...consumerParity });
  const waiting = new Map<string, () => void>();
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  let crashed: Error | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => void (crashed = payload.error));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false, // one reader that never restarts: nothing to resume from
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const id = (JSON.parse(message.value!.toString()) as { id: string }).id;
        const seen = waiting.get(id);
        if (!seen) continue;
        waiting.delete(id);
        seen();
      }
    },
  });
  await deadline(joined, 60_000, `the reader of ${topic} joining its group`);

  const queue: Queued[] = [];
  let sending = false;
  const stats = { requests: 0, records: 0 };
  const flush = async (): Promise<void> => {
    sending = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, 10_000);
      stats.requests++;
      stats.records += batch.length;
      try {
        await producer.send({ topic, acks: -1, messages: batch.map((q) => q.message) });
        for (const q of batch) q.resolve();
      } catch (error) {
        for (const q of batch) q.reject(error as Error);
      }
    }
    sending = false;
  };
  let next = 0;
  return {
    async decide(keys, value) {
      if (crashed) throw crashed;
      const id = String(next++);
      const read = new Promise<void>((resolve) => waiting.set(id, resolve));
      const sent = new Promise<void>((resolve, reject) => {
        queue.push({ message: { key: keys[0]!, value: JSON.stringify({ id, keys, value }) }, resolve, reject });
      });
      if (!sending) void flush();
      try {
        await Promise.all([sent, deadline(read, 60_000, `record ${id} read back`)]);
      } finally {
        waiting.delete(id);
      }
      return 0;
    },
    requests: () => ({ ...stats }),
    stop: async () => {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}
