/**
 * An Avro record's whole trip through the real parts: register its schema in the Confluent-compatible
 * registry, encode it in the Confluent wire format, produce it to Kafka, consume it, fetch the schema back
 * by id and decode it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Admin, Kafka } from 'kafkajs';
import { testKafka, testStack, uniqueName } from '../harness/index.ts';

const proposalSchema = {
  type: 'record',
  name: 'Proposal',
  namespace: 'dev.parley.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'keys', type: { type: 'array', items: 'string' } },
    { name: 'payload', type: 'bytes' },
    { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};

let kafka: Kafka;
let admin: Admin;
let registryUrl: string;

before(async () => {
  kafka = await testKafka('avro-roundtrip-test');
  admin = kafka.admin();
  await admin.connect();
  registryUrl = (await testStack()).schemaRegistryUrl;
});

after(async () => {
  await admin.disconnect();
});

test('register, produce, consume and decode an Avro record through the schema registry', async () => {
  const topic = uniqueName('avro-roundtrip');
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

  // Two clients, so the decoding side cannot use the encoder's cached schema: it must fetch it by id.
  const producerRegistry = new SchemaRegistry({ host: registryUrl });
  const consumerRegistry = new SchemaRegistry({ host: registryUrl });
  const { id } = await producerRegistry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(proposalSchema) },
    { subject: `${topic}-value` },
  );
  assert.ok(Number.isInteger(id) && id > 0, `registry returned schema id ${id}`);
  assert.equal(await producerRegistry.getLatestSchemaId(`${topic}-value`), id);

  const record = {
    id: 'p-1',
    keys: ['account:1', 'account:2'],
    payload: Buffer.from([0, 1, 2, 250]),
    timestamp: Date.parse('2026-11-25T12:00:00.000Z'), // no logical-type codec registered: epoch millis
  };
  const encoded = await producerRegistry.encode(id, record);
  assert.equal(encoded[0], 0, 'Confluent wire format starts with magic byte 0');
  assert.equal(encoded.readInt32BE(1), id, 'followed by the schema id, big-endian');

  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: record.id, value: encoded }] });
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: uniqueName('avro-roundtrip') });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise<Buffer>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          if (message.value) resolve(message.value);
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();

  // avsc decodes into an instance of the record's class; compare its fields.
  assert.deepEqual({ ...(await consumerRegistry.decode(received)) }, record);
});

test('a record whose schema id the registry does not know fails to decode with an error naming the id', async () => {
  const registry = new SchemaRegistry({ host: registryUrl });
  const unknownId = 2_000_000_000;
  const forged = Buffer.alloc(6);
  forged.writeUInt8(0, 0);
  forged.writeInt32BE(unknownId, 1);
  await assert.rejects(registry.decode(forged), (error: Error) => {
    assert.match(`${error.message} ${String((error as { status?: number }).status ?? '')}`, /404|not found/i);
    return true;
  });
});
