/**
 * The `kafka` backend on the real broker: the backend contract (topology/backend/contract.ts), plus what only
 * Kafka has: the partitioner agrees with kafkajs's DefaultPartitioner, compacted topics get cleanup.policy=compact,
 * endOffsets is the last stable offset under an open transaction, and kafkajs errors map to code + retriable.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import kafkajs, { Partitioners, type PartitionMetadata } from 'kafkajs';
import { backendContract } from '../../topology/backend/contract.ts';
import { topicSpec } from '../../topology/backend/contract/harness.ts';
import { BackendError } from '../../topology/backend/errors.ts';
import { createKafkaBackend } from '../../topology/backend/kafka.ts';
import { toBackendError } from '../../topology/backend/kafka/errors.ts';
import { defaultPartition } from '../../topology/backend/partitioner.ts';
import { eventually, testKafka, testStack, uniqueName } from '../harness/index.ts';

async function makeBackend() {
  const { kafkaBrokers } = await testStack();
  return createKafkaBackend({ brokers: kafkaBrokers, clientId: uniqueName('kafka-backend-test') });
}

// Node's ESM view of kafkajs (CommonJS) names only some exports (not ConfigResourceTypes): use the default.
backendContract('kafka', makeBackend);

describe('kafka backend specifics', { concurrency: true }, () => {
  test("defaultPartition agrees with kafkajs's DefaultPartitioner", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    let compared = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = randomBytes(i % 67);
      const partitions = 1 + (i % 64);
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      })) as PartitionMetadata[];
      const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } });
      assert.equal(defaultPartition(key, partitions), expected, `key ${key.toString('hex')} over ${partitions}`);
      compared++;
    }
    assert.equal(compared, 20_000);
  });

  test('compacted topics get cleanup.policy=compact and the spec config', async () => {
    const backend = await makeBackend();
    const kafka = await testKafka('kafka-backend-config');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const compacted = uniqueName('compacted');
      const plain = uniqueName('plain');
      await backend.createTopics([
        { ...topicSpec(compacted, 1, true), config: { 'min.cleanable.dirty.ratio': '0.2' } },
        topicSpec(plain, 1),
      ]);
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [compacted, plain].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name })),
      });
      const value = (topic: string, config: string) =>
        resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === config)
          ?.configValue;
      assert.equal(value(compacted, 'cleanup.policy'), 'compact');
      assert.equal(value(compacted, 'min.cleanable.dirty.ratio'), '0.2');
      assert.equal(value(plain, 'cleanup.policy'), 'delete');
    } finally {
      await admin.disconnect();
      await backend.close();
    }
  });

  test('endOffsets is the last stable offset while a transaction is open', async () => {
    const backend = await makeBackend();
    try {
      const topic = uniqueName('lso');
      await backend.createTopics([topicSpec(topic, 1)]);
      const producer = await backend.producer();
      await producer.send([{ topic, partition: 0, key: null, value: Buffer.from('before') }]);
      const txn = await backend.transactionalProducer(uniqueName('lso-txn'));
      await txn.begin();
      await txn.send([{ topic, partition: 0, key: null, value: Buffer.from('open') }]);
      assert.deepEqual(await backend.endOffsets(topic), [1], 'kafkajs lists offsets read_committed: the LSO');
      await txn.commit();
      // open record (1) + commit marker (2): the high watermark, once the marker is written.
      await eventually(
        'end offset after commit',
        () => backend.endOffsets(topic),
        (e) => e[0] === 3,
      );
      await Promise.all([producer.close(), txn.close()]);
    } finally {
      await backend.close();
    }
  });

  test('kafkajs errors map to a code and a retriable flag', () => {
    const protocol = (type: string, retriable: boolean) =>
      Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type, retriable });
    const fenced = toBackendError(protocol('INVALID_PRODUCER_EPOCH', false), 'commit');
    assert.ok(fenced instanceof BackendError);
    assert.deepEqual([fenced.code, fenced.retriable], ['PRODUCER_FENCED', false]);
    const unknown90 = Object.assign(new Error('Unknown error code 90'), {
      name: 'KafkaJSProtocolError',
      type: 'KAFKAJS_UNKNOWN_ERROR_CODE',
      retriable: false,
    });
    assert.equal(toBackendError(unknown90, 'send').code, 'PRODUCER_FENCED');
    const wrapped = Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
      cause: protocol('REQUEST_TIMED_OUT', true),
    });
    const timeout = toBackendError(wrapped, 'fetch');
    assert.deepEqual([timeout.code, timeout.retriable], ['REQUEST_TIMED_OUT', true]);
    const state = toBackendError(
      Object.assign(new Error('Cannot continue to use transaction once ended'), { name: 'KafkaJSNonRetriableError' }),
      'abort',
    );
    assert.deepEqual([state.code, state.retriable], ['INVALID_TXN_STATE', false]);
    const connection = toBackendError(
      Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError', retriable: true }),
      'metadata',
    );
    assert.deepEqual([connection.code, connection.retriable], ['CONNECTION_ERROR', true]);
  });
});
