/**
 * Kafka transactions as the topology engine will use them (issue #3), on the real broker: a
 * consume-transform-produce loop whose outputs and input offsets commit together (`sendOffsets`), read back
 * with read_committed; and an aborted transaction whose records and offsets stay invisible.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { eventually, testKafka, uniqueName } from '../harness/index.ts';

let kafka: Kafka;
let admin: Admin;

before(async () => {
  kafka = await testKafka('kafka-transactions-test');
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin.disconnect();
});

async function createTopics(...topics: string[]): Promise<void> {
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
    waitForLeaders: true,
  });
}

async function transactionalProducer(transactionalId: string): Promise<Producer> {
  // kafkajs requires idempotence and one request in flight for transactions.
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  return producer;
}

/** Reads a topic from the beginning until `last` is seen; returns every value in offset order. */
async function readUntil(topic: string, last: string, readUncommitted: boolean): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          const value = message.value?.toString() ?? '';
          values.push(value);
          if (value === last) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return values;
}

async function committedOffset(groupId: string, topic: string): Promise<string | undefined> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === 0)?.offset;
}

test(
  'consume-transform-produce: outputs and input offsets commit in one transaction',
  { timeout: 120_000 },
  async () => {
    const input = uniqueName('txn-input');
    const output = uniqueName('txn-output');
    const groupId = uniqueName('txn-group');
    await createTopics(input, output);

    const plain = kafka.producer();
    await plain.connect();
    const inputs = Array.from({ length: 10 }, (_, n) => String(n));
    await plain.send({ topic: input, messages: inputs.map((value) => ({ value })) });
    await plain.disconnect();

    const producer = await transactionalProducer(`${groupId}-0`);
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let processed = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false, // offsets travel inside the transaction instead
          eachBatch: async ({ batch }) => {
            const transaction = await producer.transaction();
            try {
              await transaction.send({
                topic: output,
                messages: batch.messages.map((m) => ({ value: String(Number(m.value?.toString()) * 2) })),
              });
              await transaction.sendOffsets({
                consumerGroupId: groupId,
                topics: [
                  {
                    topic: batch.topic,
                    partitions: [{ partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }],
                  },
                ],
              });
              await transaction.commit();
            } catch (error) {
              await transaction.abort();
              throw error;
            }
            processed += batch.messages.length;
            if (processed === inputs.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    // The coordinator writes commit markers after EndTxn returns, so committed offsets show up a moment later.
    await eventually(
      'committed input offset',
      () => committedOffset(groupId, input),
      (o) => o === '10',
    );
    const outputs = await readUntil(output, '18', false);
    assert.deepEqual(
      outputs,
      inputs.map((n) => String(Number(n) * 2)),
    );

    // An aborted transaction: its records and its offsets must not become visible to read_committed readers.
    const aborted = await producer.transaction();
    await aborted.send({
      topic: output,
      messages: ['aborted-1', 'aborted-2', 'aborted-3'].map((value) => ({ value })),
    });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '999' }] }],
    });
    await aborted.abort();
    const fence = await producer.transaction();
    await fence.send({ topic: output, messages: [{ value: 'fence' }] });
    await fence.commit();
    await producer.disconnect();

    const committedView = await readUntil(output, 'fence', false);
    assert.deepEqual(committedView, [...outputs, 'fence'], 'read_committed never sees aborted records');
    const uncommittedView = await readUntil(output, 'fence', true);
    assert.ok(
      ['aborted-1', 'aborted-2', 'aborted-3'].every((v) => uncommittedView.includes(v)),
      'the aborted records did reach the log (read_uncommitted sees them), so the check above is meaningful',
    );
    assert.equal(await committedOffset(groupId, input), '10', 'offsets sent in an aborted transaction do not commit');
  },
);

/** Reads `topic` from `offset` (read_committed) until `last` is seen. */
async function readFrom(topic: string, offset: string, last: string): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values: string[] = [];
  const seen = new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(`${message.offset}:${message.value?.toString()}`);
          if (message.value?.toString() === last) resolve();
        },
      })
      .catch(reject);
  });
  consumer.seek({ topic, partition: 0, offset });
  await seen;
  await consumer.disconnect();
  return values;
}

test('read_committed from inside two interleaved aborted transactions sees none of their records', async () => {
  // kafkajs 2.2.4 entered one aborted transaction per record, in the broker's order: starting inside two of them
  // (a task resuming from its committed offset, where several tasks' producers write one partition), it returned
  // the second one's records — found by the broker-kill chaos test as an agent applying a decision twice.
  // patches/kafkajs+2.2.4.patch orders them and enters every one that has started.
  const topic = uniqueName('interleaved-aborts');
  await createTopics(topic);
  const [p1, p2, p3] = await Promise.all(['a', 'b', 'c'].map((t) => transactionalProducer(uniqueName(`tx-${t}`))));
  const t1 = await p1!.transaction();
  await t1.send({ topic, messages: [{ value: 'aborted-1' }] }); // offset 0
  const t2 = await p2!.transaction();
  await t2.send({ topic, messages: [{ value: 'aborted-2' }] }); // offset 1
  await t1.send({ topic, messages: [{ value: 'aborted-1b' }] }); // offset 2
  await t2.send({ topic, messages: [{ value: 'aborted-2b' }] }); // offset 3
  await t1.abort(); // marker at 4
  await t2.abort(); // marker at 5
  const t3 = await p3!.transaction();
  await t3.send({ topic, messages: [{ value: 'committed' }] });
  await t3.commit();
  for (const from of ['0', '1', '2', '3']) {
    assert.deepEqual(await readFrom(topic, from, 'committed'), ['6:committed'], `reading from offset ${from}`);
  }
  await Promise.all([p1, p2, p3].map((p) => p!.disconnect()));
});
