/**
 * Timestamps of what a hop does, for the latency breakdown. `traced(backend, marks)` wraps a Backend (the
 * engine's only door to Kafka) without changing it: it marks when a batch reaches the runtime (onBatch), when
 * the runtime is done with it, and when each transactional call returns. With one record in flight at a time,
 * the latest mark of each name belongs to that record.
 */
import { performance } from 'node:perf_hooks';
import type { Backend, GroupOptions, TransactionalProducer } from '../../topology/backend/types.ts';

/** The latest time (performance.now()) of each named event, plus how often it happened. */
export class Marks {
  readonly #at = new Map<string, number>();
  readonly #count = new Map<string, number>();

  mark(name: string, at = performance.now()): void {
    this.#at.set(name, at);
    this.#count.set(name, (this.#count.get(name) ?? 0) + 1);
  }

  at(name: string): number | undefined {
    return this.#at.get(name);
  }

  count(name: string): number {
    return this.#count.get(name) ?? 0;
  }
}

async function timed<T>(marks: Marks, name: string, action: () => Promise<T>): Promise<T> {
  const result = await action();
  marks.mark(name);
  return result;
}

function tracedProducer(producer: TransactionalProducer, marks: Marks): TransactionalProducer {
  return {
    transactionalId: producer.transactionalId,
    begin: () => timed(marks, 'begin', () => producer.begin()),
    send: (records) => timed(marks, 'send', () => producer.send(records)),
    sendOffsets: (groupId, offsets) => timed(marks, 'sendOffsets', () => producer.sendOffsets(groupId, offsets)),
    commit: () => timed(marks, 'commit', () => producer.commit()),
    abort: () => producer.abort(),
    close: () => producer.close(),
  };
}

/** `deliveredTopic`: mark only that topic's batches as delivered (a task may read others too). */
export function traced(backend: Backend, marks: Marks, deliveredTopic?: string): Backend {
  return {
    kind: backend.kind,
    createTopics: (topics) => backend.createTopics(topics),
    partitionCount: (topic) => backend.partitionCount(topic),
    endOffsets: (topic) => backend.endOffsets(topic),
    committedOffsets: (groupId, topic) => backend.committedOffsets(groupId, topic),
    readPartition: (topic, partition, from, to, onRecords) =>
      backend.readPartition(topic, partition, from, to, onRecords),
    close: () => backend.close(),
    joinGroup: (options: GroupOptions) =>
      backend.joinGroup({
        ...options,
        handler: {
          ...options.handler,
          onBatch: async (batch) => {
            const mine = deliveredTopic === undefined || batch.topic === deliveredTopic;
            if (mine) marks.mark('delivered');
            await options.handler.onBatch(batch);
            if (mine) marks.mark('batchDone');
          },
        },
      }),
    transactionalProducer: async (id) => tracedProducer(await backend.transactionalProducer(id), marks),
    producer: async () => {
      const producer = await backend.producer();
      return { send: (records) => timed(marks, 'send', () => producer.send(records)), close: () => producer.close() };
    },
  };
}
