/**
 * The Avro serde: Confluent wire format bytes, one registry round trip per subject, synchronous use after
 * `prepare`, schema evolution through avsc's resolver, and a DeserializationError for every kind of bad bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AvroSerde } from './avro.ts';
import { SchemaRegistryError, SerdeNotPreparedError, SerializationError } from './errors.ts';
import { MemoryRegistryClient, type SchemaRegistryClient } from './registry.ts';
import { DeserializationError } from './serde.ts';

const point = {
  type: 'record',
  name: 'Point',
  namespace: 'test',
  fields: [
    { name: 'label', type: 'string' },
    { name: 'x', type: 'int' },
  ],
};
const pointV2 = { ...point, fields: [...point.fields, { name: 'y', type: 'int', default: -1 }] };

/** Counts what the serde asks of the registry. */
function counting(registry: SchemaRegistryClient = new MemoryRegistryClient()) {
  const calls = { register: 0, getSchema: 0 };
  const client: SchemaRegistryClient = {
    url: registry.url,
    register: (subject, schema) => (calls.register++, registry.register(subject, schema)),
    getSchema: (id) => (calls.getSchema++, registry.getSchema(id)),
    latestId: (subject) => registry.latestId(subject),
    checkCompatibility: (subject, schema) => registry.checkCompatibility(subject, schema),
    setCompatibility: (subject, level) => registry.setCompatibility(subject, level),
  };
  return { client, calls };
}

test('bytes are magic 0, the schema id big-endian, then the Avro body', async () => {
  const registry = new MemoryRegistryClient();
  await registry.register('other-value', '"string"'); // so our schema gets id 2, not a trivial 1
  const serde = new AvroSerde(point, { registry, isKey: false });
  const bytes = await serde.serialize('points', { label: 'a', x: 1 });
  // label: zigzag length 1 → 0x02, 'a' → 0x61; x: zigzag 1 → 0x02
  assert.deepEqual(bytes, Buffer.from([0, 0, 0, 0, 2, 0x02, 0x61, 0x02]));
  assert.equal(await registry.latestId('points-value'), 2);
});

test('keys and values register under <topic>-key and <topic>-value', async () => {
  const registry = new MemoryRegistryClient();
  await new AvroSerde('string', { registry, isKey: true }).prepare('t');
  await new AvroSerde(point, { registry, isKey: false }).prepare('t');
  assert.equal(await registry.getSchema((await registry.latestId('t-key'))!), '"string"');
  assert.equal(await registry.getSchema((await registry.latestId('t-value'))!), JSON.stringify(point));
});

test('the schema is registered once per subject, then serialization is synchronous', async () => {
  const { client, calls } = counting();
  const serde = new AvroSerde(point, { registry: client, isKey: false });
  assert.throws(
    () => serde.serializeSync('points', { label: 'a', x: 1 }),
    (error: SerdeNotPreparedError) => {
      assert.ok(error instanceof SerdeNotPreparedError);
      assert.match(error.message, /"points-value" is not prepared: await prepare\("points"\)/);
      return true;
    },
  );
  await Promise.all([serde.prepare('points'), serde.prepare('points'), serde.serialize('points', point1)]);
  assert.equal(calls.register, 1, 'concurrent prepares share one registration');
  const sync = serde.serialize('points', point1);
  assert.ok(Buffer.isBuffer(sync), 'a prepared serde returns bytes, not a promise');
  for (let i = 0; i < 100; i++) serde.serializeSync('points', { label: `p${i}`, x: i });
  await serde.prepare('other');
  assert.equal(calls.register, 2, 'a second topic is a second subject');
  assert.deepEqual(serde.deserializeSync('points', sync), point1, 'our own schema needs no fetch');
  assert.equal(calls.getSchema, 0);
});
const point1 = { label: 'one', x: 1 };

test('a failed registration is tried again by the next prepare', async () => {
  const registry = new MemoryRegistryClient({ defaultCompatibility: 'BACKWARD' });
  await registry.register('points-value', JSON.stringify({ ...point, fields: [{ name: 'label', type: 'int' }] }));
  const serde = new AvroSerde(point, { registry, isKey: false });
  await assert.rejects(serde.prepare('points'), { code: 'INCOMPATIBLE_SCHEMA' });
  await registry.setCompatibility('points-value', 'NONE');
  await serde.prepare('points');
  assert.ok(Buffer.isBuffer(serde.serializeSync('points', point1)));
});

test('null is a tombstone both ways', async () => {
  const serde = new AvroSerde(point, { registry: new MemoryRegistryClient(), isKey: false });
  assert.equal(await serde.serialize('points', null), null);
  assert.equal(serde.serializeSync('points', null), null, 'no prepare needed for a tombstone');
  assert.equal(await serde.deserialize('points', null), null);
});

test('a value that does not fit the schema fails naming the topic and the path', async () => {
  const serde = new AvroSerde(point, { registry: new MemoryRegistryClient(), isKey: false });
  await serde.prepare('points');
  assert.throws(
    () => serde.serializeSync('points', { label: 7, x: 'far' } as never),
    (error: SerializationError) => {
      assert.ok(error instanceof SerializationError);
      assert.equal(error.code, 'SERIALIZATION_FAILED');
      assert.match(error.message, /topic "points" \(subject "points-value", schema id 1\)/);
      assert.match(error.message, /label is 7, expected "string"; x is "far", expected "int"/);
      return true;
    },
  );
});

test('data written with v1 reads with v2, which fills in v2 defaults', async () => {
  const { client, calls } = counting();
  const writer = new AvroSerde(point, { registry: client, isKey: false });
  const reader = new AvroSerde(pointV2, { registry: client, isKey: false });
  const bytes = (await writer.serialize('points', { label: 'old', x: 3 }))!;
  assert.throws(() => reader.deserializeSync('points', bytes), /has not fetched writer schema id 1/);
  assert.deepEqual(await reader.deserialize('points', bytes), { label: 'old', x: 3, y: -1 });
  assert.deepEqual(reader.deserializeSync('points', bytes), { label: 'old', x: 3, y: -1 }, 'now cached');
  await Promise.all([reader.deserialize('points', bytes), reader.deserialize('points', bytes)]);
  assert.equal(calls.getSchema, 1, 'the writer schema is fetched once');
});

test('a writer schema the reader cannot resolve fails as a DeserializationError', async () => {
  const registry = new MemoryRegistryClient();
  const writer = new AvroSerde(point, { registry, isKey: false });
  const reader = new AvroSerde({ ...point, fields: [{ name: 'z', type: 'int' }] }, { registry, isKey: false });
  const bytes = (await writer.serialize('points', point1))!;
  await assert.rejects(
    async () => reader.deserialize('points', bytes),
    (error: DeserializationError) => {
      assert.ok(error instanceof DeserializationError);
      assert.equal(error.topic, 'points');
      assert.match(error.message, /schema id 1\): the writer schema cannot be read with the reader schema/);
      return true;
    },
  );
});

test('bad bytes fail as DeserializationError naming the topic, the schema id and the reason', async () => {
  const registry = new MemoryRegistryClient();
  const serde = new AvroSerde(point, { registry, isKey: false });
  const good = (await serde.serialize('points', { label: 'abc', x: 5 }))!;
  const cases: [string, Buffer, RegExp][] = [
    ['bad magic', Buffer.from([1, ...good.subarray(1)]), /"points".*: bad magic byte 0x01 \(expected 0x00\)/],
    ['short header', good.subarray(0, 3), /3 bytes are shorter than the 5-byte Confluent header/],
    [
      'unknown id',
      Buffer.from([0, 0, 0, 0, 99, 2, 0x61, 2]),
      /schema id 99\): schema id 99 is unknown to the registry memory:\/\//,
    ],
    ['truncated body', good.subarray(0, good.length - 2), /schema id 1\): truncated Avro body \(3 bytes\)/],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])]), /schema id 1\): corrupt Avro body: 1 trailing bytes/],
    ['negative length', Buffer.from([0, 0, 0, 0, 1, 0x01, 0x02]), /schema id 1\): (corrupt|truncated) Avro body/],
  ];
  for (const [name, bytes, message] of cases) {
    await assert.rejects(
      async () => serde.deserialize('points', bytes),
      (error: Error) => error instanceof DeserializationError && message.test(error.message),
      name,
    );
  }
});

test('a registry outage while decoding is a retriable registry error, not a DeserializationError', async () => {
  const memory = new MemoryRegistryClient();
  const down: SchemaRegistryClient = {
    ...counting(memory).client,
    getSchema: async () => {
      throw new SchemaRegistryError('REGISTRY_UNAVAILABLE', 'registry down', true, { url: 'http://r' });
    },
  };
  const bytes = (await new AvroSerde(point, { registry: memory, isKey: false }).serialize('points', point1))!;
  const reader = new AvroSerde(pointV2, { registry: down, isKey: false });
  await assert.rejects(async () => reader.deserialize('points', bytes), {
    code: 'REGISTRY_UNAVAILABLE',
    retriable: true,
  });
});

const rich = {
  type: 'record',
  name: 'Rich',
  namespace: 'test',
  fields: [
    { name: 'text', type: 'string' },
    { name: 'count', type: 'long' },
    { name: 'ratio', type: 'double' },
    { name: 'flag', type: 'boolean' },
    { name: 'blob', type: 'bytes' },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'scores', type: { type: 'map', values: 'int' } },
    { name: 'child', type: ['null', { type: 'record', name: 'Child', fields: [{ name: 'n', type: 'int' }] }] },
    {
      name: 'shape', // two records: avsc wraps the union, `{ 'test.Circle': {...} }`
      type: [
        { type: 'record', name: 'Circle', fields: [{ name: 'r', type: 'double' }] },
        { type: 'record', name: 'Square', fields: [{ name: 'side', type: 'double' }] },
      ],
    },
  ],
};

// fast-check also makes null-prototype objects; decoded Avro records and maps are ordinary ones.
const plain = { noNullPrototype: true };
const richValue = fc.record(
  {
    text: fc.string({ unit: 'binary' }),
    count: fc.maxSafeInteger(),
    ratio: fc.double({ noNaN: true }),
    flag: fc.boolean(),
    blob: fc.uint8Array().map((array) => Buffer.from(array)),
    color: fc.constantFrom('RED', 'GREEN'),
    tags: fc.array(fc.string()),
    scores: fc.dictionary(fc.string(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), plain),
    child: fc.option(fc.record({ n: fc.integer({ min: 0, max: 1000 }) }, plain), { nil: null }),
    shape: fc.oneof(
      fc.record({ 'test.Circle': fc.record({ r: fc.double({ noNaN: true }) }, plain) }, plain),
      fc.record({ 'test.Square': fc.record({ side: fc.double({ noNaN: true }) }, plain) }, plain),
    ),
  },
  plain,
);

test('property: any value of a rich schema round trips to an equal plain value', async () => {
  const serde = new AvroSerde(rich, { registry: new MemoryRegistryClient(), isKey: false });
  await serde.prepare('rich');
  fc.assert(
    fc.property(richValue, (value) => {
      const decoded = serde.deserializeSync('rich', serde.serializeSync('rich', value));
      assert.deepStrictEqual(decoded, value); // strict: plain objects, not avsc's record classes
    }),
  );
});

test('longs round trip exactly over all safe integers; an unsafe one on the wire is a corrupt record', async () => {
  const serde = new AvroSerde<number>('long', { registry: new MemoryRegistryClient(), isKey: false });
  await serde.prepare('longs');
  // avsc's built-in long decodes -(2^52 + 1) as +2^52 and refuses 2^53 - 1 (schema.ts `exactLong`).
  for (const value of [-(2 ** 52 + 1), 2 ** 53 - 1, -(2 ** 53 - 1), -1, 0, 2 ** 31]) {
    assert.equal(serde.deserializeSync('longs', serde.serializeSync('longs', value)), value);
  }
  assert.throws(() => serde.serializeSync('longs', 2 ** 53), SerializationError);
  const unsafe = Buffer.from([0, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // 2^62
  assert.throws(
    () => serde.deserializeSync('longs', unsafe),
    (error: Error) =>
      error instanceof DeserializationError && /corrupt Avro body: long \d+ is beyond/.test(error.message),
  );
});

test('a map key named __proto__ survives, also through a resolver and in nested maps', async () => {
  // avsc's own map reader assigns `map[key]`, which drops "__proto__" (schema.ts `readMap`).
  const registry = new MemoryRegistryClient();
  const writer = new AvroSerde({ type: 'map', values: { type: 'map', values: 'int' } }, { registry, isKey: false });
  const reader = new AvroSerde({ type: 'map', values: { type: 'map', values: 'long' } }, { registry, isKey: false });
  const value = JSON.parse('{"__proto__": {"__proto__": 1, "a": 2}, "b": {}}') as Record<string, unknown>;
  const bytes = (await writer.serialize('maps', value))!;
  for (const decoded of [await writer.deserialize('maps', bytes), await reader.deserialize('maps', bytes)]) {
    assert.deepStrictEqual(decoded, value);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.deepEqual(Object.keys((decoded as Record<string, object>)['__proto__']!), ['__proto__', 'a']);
  }
});
