/**
 * The baselines: a raw kafkajs consume→produce loop, as one would write it without the engine. One consumer-
 * group member reads the input topic batch by batch and produces every record (key and value copied, no other
 * work) to the output topic before taking the next batch.
 *
 * - plain: a non-transactional idempotent producer (acks all), offsets auto-committed by kafkajs after each
 *   batch; the counterpart of the engine's at_least_once (send, then commit offsets, per batch).
 * - transactional: per batch one transaction with the records and the batch's input offsets (sendOffsets),
 *   read_committed input; the counterpart of the engine's exactly_once, which commits one transaction per
 *   delivered batch per task. One producer for the member: batches are handled one at a time anyway
 *   (partitionsConsumedConcurrently 1, as in the engine), so per-partition producers would change nothing here.
 */
import { performance } from 'node:perf_hooks';
import type { EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { consumerParity, producerParity } from './kafka.ts';

export type RawMode = 'plain' | 'transactional';

export interface RawLoopOptions {
  groupId: string;
  input: string;
  output: string;
  mode: RawMode;
  /**
   * Called as each step of a batch ends, with its duration (ms): delivered (the batch reached the handler, 0),
   * send, sendOffsets, commit, batchDone (the whole batch).
   */
  onStep?: (step: string, ms: number) => void;
}

export interface RawLoop {
  /** Resolves with the error that stopped the loop (never, if none does). */
  whenFailed: Promise<Error>;
  stop(): Promise<void>;
}

/** AddOffsetsToTxn may answer CONCURRENT_TRANSACTIONS right after a commit; kafkajs does not retry it. */
async function withRetry(action: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= 20 || (error as { retriable?: boolean }).retriable !== true) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10 * 2 ** attempt, 500)));
    }
  }
}

function batchHandler(producer: Producer, options: RawLoopOptions) {
  const step = options.onStep ?? (() => undefined);
  return async ({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> => {
    const started = performance.now();
    step('delivered', 0);
    const messages = batch.messages.map((m) => ({ key: m.key, value: m.value }));
    if (options.mode === 'plain') {
      await producer.send({ topic: options.output, acks: -1, messages });
      step('send', performance.now() - started);
    } else {
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic: options.output, acks: -1, messages });
        const sent = performance.now();
        step('send', sent - started);
        const next = String(Number(batch.lastOffset()) + 1);
        const topics = [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }];
        await withRetry(() => transaction.sendOffsets({ consumerGroupId: options.groupId, topics }));
        const offsetsSent = performance.now();
        step('sendOffsets', offsetsSent - sent);
        await transaction.commit();
        step('commit', performance.now() - offsetsSent);
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    }
    resolveOffset(batch.lastOffset());
    step('batchDone', performance.now() - started);
    await heartbeat();
  };
}

export async function startRawLoop(kafka: Kafka, options: RawLoopOptions): Promise<RawLoop> {
  const transactional = options.mode === 'transactional';
  const producer = kafka.producer({
    ...producerParity,
    ...(transactional ? { transactionalId: `${options.groupId}-txn` } : {}),
  });
  const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: !transactional, ...consumerParity });
  let fail: (error: Error) => void = () => undefined;
  const whenFailed = new Promise<Error>((resolve) => (fail = resolve));
  consumer.on(consumer.events.CRASH, ({ payload }) => fail(payload.error));
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: options.input, fromBeginning: true });
  await consumer.run({
    autoCommit: !transactional, // transactional: the offsets travel in the transaction
    partitionsConsumedConcurrently: 1,
    eachBatch: batchHandler(producer, options),
  });
  return {
    whenFailed,
    stop: async () => {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}
