/**
 * Producers on kafkajs. Both are idempotent with one request in flight (kafkajs requires both for transactions;
 * for the plain producer it keeps per-partition order across retries).
 *
 * kafkajs sends the transactional InitProducerId only at the first `producer.transaction()`, not at connect().
 * The contract says creating a transactional producer fences older ones with the same id, so creation opens and
 * immediately drops an empty transaction (kafkajs sends no EndTxn when nothing was added to it).
 *
 * Once fenced, a producer stays fenced: every later call fails with PRODUCER_FENCED without asking the broker.
 * kafkajs also leaves a producer whose commit failed in its COMMITTING state, where abort() cannot run
 * (INVALID_TXN_STATE): the caller closes it and creates a new one, which aborts whatever was left open.
 */
import type { Kafka, Producer as KafkaJSProducer, Transaction } from 'kafkajs';
import { BackendError } from '../errors.ts';
import type { OutgoingRecord, PartitionOffset, Producer, TransactionalProducer } from '../types.ts';
import { toBackendError } from './errors.ts';
import { PRODUCER_RETRY, retry, SEND_OFFSETS_RETRY } from './retry.ts';
import { sharedPartitioner, toTopicMessages } from './records.ts';

export interface ProducerSettings {
  transactionTimeoutMs: number;
}

function offsetsByTopic(
  offsets: PartitionOffset[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const map = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    map.set(topic, [...(map.get(topic) ?? []), { partition, offset: String(offset) }]);
  }
  return [...map].map(([topic, partitions]) => ({ topic, partitions }));
}

export async function createPlainProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: sharedPartitioner,
    retry: PRODUCER_RETRY,
  });
  try {
    await producer.connect();
  } catch (error) {
    throw toBackendError(error, 'connecting a producer');
  }
  return {
    async send(records: OutgoingRecord[]): Promise<void> {
      if (records.length === 0) return;
      try {
        await producer.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 });
      } catch (error) {
        throw toBackendError(error, 'producing');
      }
    },
    close: () => producer.disconnect(),
  };
}

export class KafkaTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #producer: KafkaJSProducer;
  #transaction: Transaction | undefined;
  #fenced: BackendError | undefined;

  private constructor(transactionalId: string, producer: KafkaJSProducer) {
    this.transactionalId = transactionalId;
    this.#producer = producer;
  }

  static async create(
    kafka: Kafka,
    transactionalId: string,
    settings: ProducerSettings,
  ): Promise<KafkaTransactionalProducer> {
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: settings.transactionTimeoutMs,
      createPartitioner: sharedPartitioner,
      retry: PRODUCER_RETRY,
    });
    try {
      await producer.connect();
      // InitProducerId with this transactional id: fences older producers and aborts their open transaction.
      await (await producer.transaction()).abort();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw toBackendError(error, `initialising transactional producer ${transactionalId}`);
    }
    return new KafkaTransactionalProducer(transactionalId, producer);
  }

  /** Runs one kafkajs call, mapping its error; a fencing error sticks to this producer. */
  async #call<T>(what: string, action: () => Promise<T>): Promise<T> {
    if (this.#fenced) throw this.#fenced;
    try {
      return await action();
    } catch (error) {
      const mapped = toBackendError(error, `transactional producer ${this.transactionalId}: ${what}`);
      if (mapped instanceof BackendError && mapped.code === 'PRODUCER_FENCED') this.#fenced = mapped;
      throw mapped;
    }
  }

  #open(what: string): Transaction {
    if (this.#transaction) return this.#transaction;
    throw new BackendError(
      'INVALID_TXN_STATE',
      `transactional producer ${this.transactionalId}: ${what} outside a transaction`,
    );
  }

  async begin(): Promise<void> {
    // Fenced first: the caller must learn the task moved (TaskMigratedError), not that a transaction is open.
    if (this.#fenced) throw this.#fenced;
    if (this.#transaction) {
      throw new BackendError(
        'INVALID_TXN_STATE',
        `transactional producer ${this.transactionalId}: begin() inside a transaction`,
      );
    }
    this.#transaction = await this.#call('begin', () => this.#producer.transaction());
  }

  async send(records: OutgoingRecord[]): Promise<void> {
    if (this.#fenced) throw this.#fenced;
    const transaction = this.#open('send');
    if (records.length === 0) return;
    await this.#call('send', () => transaction.sendBatch({ topicMessages: toTopicMessages(records), acks: -1 }));
  }

  async sendOffsets(groupId: string, offsets: PartitionOffset[]): Promise<void> {
    if (this.#fenced) throw this.#fenced;
    const transaction = this.#open('sendOffsets');
    if (offsets.length === 0) return;
    const topics = offsetsByTopic(offsets);
    // Both kafkajs calls inside (AddOffsetsToTxn, TxnOffsetCommit) are idempotent, so a retry repeats them whole.
    await retry(
      () => this.#call('sendOffsets', () => transaction.sendOffsets({ consumerGroupId: groupId, topics })),
      (error) => (error as { retriable?: boolean }).retriable === true,
      SEND_OFFSETS_RETRY,
    );
  }

  /** Resolves when EndTxn did; the markers, and so the committed offsets, become visible a moment later. */
  async commit(): Promise<void> {
    if (this.#fenced) throw this.#fenced;
    const transaction = this.#open('commit');
    await this.#call('commit', () => transaction.commit());
    this.#transaction = undefined;
  }

  async abort(): Promise<void> {
    if (this.#fenced) throw this.#fenced;
    const transaction = this.#open('abort');
    try {
      await this.#call('abort', () => transaction.abort());
    } finally {
      // Whatever the outcome, this transaction is over for the caller: the broker aborts it at its timeout or
      // when the next owner initialises the id. Keeping it would make every later begin() fail.
      this.#transaction = undefined;
    }
  }

  async close(): Promise<void> {
    this.#transaction = undefined;
    await this.#producer.disconnect();
  }
}
