/**
 * schemas/ against the real Confluent-compatible registry (Apicurio's /apis/ccompat/v7 on the native stack):
 * ids shared by equal content, a compatible evolution accepted, an incompatible one rejected once the subject is
 * BACKWARD, an Avro serde round trip with schema evolution, and errors that name what failed.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import {
  AvroSerde,
  ConfluentRegistryClient,
  DeserializationError,
  IncompatibleSchemaError,
  SchemaRegistryError,
  serdeFor,
  schemasDir,
} from '../../schemas/index.ts';
import { testStack, uniqueName } from '../harness/index.ts';

let url: string;
let registry: ConfluentRegistryClient;

const field = (name: string, type: unknown, extra: object = {}) => ({ name, type, ...extra });
const order = (fields: object[]) => ({ type: 'record', name: 'Order', namespace: 'dev.parley.test', fields });
const v1 = order([field('id', 'string'), field('amount', 'long')]);
const v2 = order([field('id', 'string'), field('amount', 'long'), field('currency', 'string', { default: 'EUR' })]);
const v3 = order([field('id', 'string'), field('amount', 'long'), field('customer', 'string')]); // no default

before(async () => {
  url = (await testStack()).schemaRegistryUrl;
  registry = new ConfluentRegistryClient({ url });
});

test('equal content gets one id under two subjects; a new subject has no latest id', async () => {
  const [first, second] = [uniqueName('orders'), uniqueName('orders-copy')].map((topic) => `${topic}-value`);
  assert.equal(await registry.latestId(first!), undefined);
  const id = await registry.register(first!, JSON.stringify(v1));
  assert.ok(Number.isInteger(id) && id > 0, `id ${id}`);
  assert.equal(await registry.register(second!, JSON.stringify(v1)), id);
  // Within a subject, reformatted text is recognised as the version it already has (Apicurio gives reformatted
  // text a new id under another subject, unlike Confluent: see schemas/README.md).
  assert.equal(await registry.register(first!, JSON.stringify(v1, null, 2)), id, 'registering again is idempotent');
  assert.equal(await registry.latestId(first!), id);
  assert.deepEqual(JSON.parse(await registry.getSchema(id)), v1);
});

test('under BACKWARD a defaulted field is accepted and a required new field is rejected', async () => {
  const subject = `${uniqueName('orders')}-value`;
  const id1 = await registry.register(subject, JSON.stringify(v1));
  await registry.setCompatibility(subject, 'BACKWARD');

  assert.equal(await registry.checkCompatibility(subject, JSON.stringify(v2)), true);
  const id2 = await registry.register(subject, JSON.stringify(v2));
  assert.notEqual(id2, id1);
  assert.equal(await registry.latestId(subject), id2);

  assert.equal(await registry.checkCompatibility(subject, JSON.stringify(v3)), false);
  await assert.rejects(registry.register(subject, JSON.stringify(v3)), (error: IncompatibleSchemaError) => {
    assert.ok(error instanceof IncompatibleSchemaError, String(error));
    assert.equal(error.code, 'INCOMPATIBLE_SCHEMA');
    assert.equal(error.retriable, false);
    assert.equal(error.status, 409);
    assert.equal(error.subject, subject);
    assert.ok(error.message.includes(`${url}/subjects/${subject}/versions`), error.message);
    assert.match(error.reasons.join(), /customer/, 'Apicurio names the offending field in its diff list');
    return true;
  });
  assert.equal(await registry.latestId(subject), id2, 'the rejected schema added no version');
});

test('an Avro serde round trip through the registry, read back by a v2 reader with its default', async () => {
  const topic = uniqueName('orders');
  // Separate clients, so the readers must fetch the writer schema by id from the registry.
  const writer = new AvroSerde(v1, { registry: new ConfluentRegistryClient({ url }), isKey: false });
  const sameReader = new AvroSerde(v1, { registry: new ConfluentRegistryClient({ url }), isKey: false });
  const evolvedReader = new AvroSerde(v2, { registry: new ConfluentRegistryClient({ url }), isKey: false });
  const value = { id: 'o-1', amount: 2 ** 53 - 1 };

  await writer.prepare(topic);
  const bytes = writer.serializeSync(topic, value)!;
  const id = await registry.latestId(`${topic}-value`);
  assert.equal(bytes[0], 0);
  assert.equal(bytes.readUInt32BE(1), id);

  assert.deepStrictEqual(await sameReader.deserialize(topic, bytes), value);
  assert.deepStrictEqual(await evolvedReader.deserialize(topic, bytes), { ...value, currency: 'EUR' });
});

test('the DeadLetter schema registers and round trips as a key-less value', async () => {
  const topic = uniqueName('dead-letters');
  const serde = serdeFor({ type: 'avro', schema: 'DeadLetter' }, { registry, schemasDir, isKey: false });
  const letter = {
    topic: 'proposals',
    partition: 0,
    offset: 7,
    processor: 'proposal',
    errorClass: 'DeserializationError',
    message: 'bad magic byte 0x01',
    stack: 'DeserializationError: bad magic byte\n    at …',
    timestamp: Date.parse('2026-11-25T12:00:00Z'),
    key: null,
    value: Buffer.from([1, 2, 3]),
    headers: {},
  };
  const reader = serdeFor(
    { type: 'avro', schema: 'DeadLetter' },
    { registry: new ConfluentRegistryClient({ url }), schemasDir, isKey: false },
  );
  assert.deepStrictEqual(await reader.deserialize(topic, await serde.serialize(topic, letter)), letter);
});

test('an id the registry does not know is a DeserializationError naming it', async () => {
  const serde = new AvroSerde(v1, { registry, isKey: false });
  const forged = Buffer.from([0, 0x77, 0x35, 0x94, 0x00, 0x02, 0x61, 0x02]); // id 2_000_000_000
  await assert.rejects(
    async () => serde.deserialize('forged', forged),
    (error: DeserializationError) => {
      assert.ok(error instanceof DeserializationError, String(error));
      assert.match(error.message, /topic "forged" .*schema id 2000000000 is unknown to the registry/);
      return true;
    },
  );
});

test('a wrong URL fails with an error naming the URL', async () => {
  const wrongPath = new ConfluentRegistryClient({ url: `${new URL(url).origin}/no-such-api` });
  await assert.rejects(wrongPath.latestId('x-value'), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'REGISTRY_HTTP_ERROR');
    assert.equal(error.retriable, false);
    assert.ok(
      error.message.includes(`${new URL(url).origin}/no-such-api/subjects/x-value/versions/latest`),
      error.message,
    );
    return true;
  });
  // A port that was just free: bound by us, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const nothing = new ConfluentRegistryClient({ url: `http://127.0.0.1:${port}/apis/ccompat/v7` });
  await assert.rejects(nothing.getSchema(1), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'REGISTRY_UNAVAILABLE');
    assert.equal(error.retriable, true);
    assert.ok(
      error.message.includes(`GET http://127.0.0.1:${port}/apis/ccompat/v7/schemas/ids/1 failed`),
      error.message,
    );
    return true;
  });
});
