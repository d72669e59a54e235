/**
 * `serdeFor`: every topology format round trips, maps null to a tombstone, and fails on bad input with an
 * error naming the topic (or the schema file's path).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Format as ModelFormat } from '../topology/model.ts';
import { AvroSerde } from './avro.ts';
import { SchemaFileError, SerializationError } from './errors.ts';
import { serdeFor, type Format } from './formats.ts';
import { schemasDir } from './index.ts';
import { MemoryRegistryClient } from './registry.ts';
import { DeserializationError } from './serde.ts';

// schemas/ imports no other folder, so it keeps its own copy of the model's Format: this fails to compile when
// the two drift apart.
const sameFormat: [ModelFormat, Format] extends [Format, ModelFormat] ? true : false = true;
assert.ok(sameFormat);

const options = (overrides: Partial<{ isKey: boolean; schemasDir: string }> = {}) => ({
  registry: new MemoryRegistryClient(),
  schemasDir,
  isKey: false,
  ...overrides,
});
const string = serdeFor({ type: 'string' }, options());
const json = serdeFor({ type: 'json' }, options());
const bytes = serdeFor({ type: 'bytes' }, options());

test('property: string, json and bytes round trip synchronously and asynchronously', async () => {
  const same = (value: unknown) => value;
  const cases: [typeof string, fc.Arbitrary<unknown>, (value: unknown) => unknown][] = [
    [string, fc.string({ unit: 'binary' }), same],
    // The oracle is JSON itself: -0 comes back as 0, which JSON cannot tell apart.
    [json, fc.jsonValue().filter((value) => value !== null), (value) => JSON.parse(JSON.stringify(value))],
    [bytes, fc.uint8Array().map((array) => Buffer.from(array)), same],
  ];
  for (const [serde, values, expected] of cases) {
    await serde.prepare('t'); // nothing to prepare, but callers may always call it
    await fc.assert(
      fc.asyncProperty(values, async (value) => {
        assert.deepStrictEqual(serde.deserializeSync('t', serde.serializeSync('t', value)), expected(value));
        assert.deepStrictEqual(await serde.deserialize('t', await serde.serialize('t', value)), expected(value));
      }),
    );
  }
});

test('null is a tombstone in every format', async () => {
  const avro = serdeFor({ type: 'avro', schema: 'DeadLetter' }, options());
  for (const serde of [string, json, bytes, avro]) {
    assert.equal(await serde.serialize('t', null), null);
    assert.equal(serde.serializeSync('t', null), null);
    assert.equal(await serde.deserialize('t', null), null);
    assert.equal(serde.deserializeSync('t', null), null);
  }
});

test('the wire bytes of string and json are plain UTF-8', () => {
  assert.deepEqual(string.serializeSync('t', 'é'), Buffer.from([0xc3, 0xa9]));
  assert.deepEqual(json.serializeSync('t', { a: [1, 'x'] }), Buffer.from('{"a":[1,"x"]}'));
});

test('malformed JSON and invalid UTF-8 are DeserializationErrors naming the topic', () => {
  const isDeserialization = (pattern: RegExp) => (error: Error) =>
    error instanceof DeserializationError && error.topic === 'orders' && pattern.test(error.message);
  assert.throws(
    () => json.deserializeSync('orders', Buffer.from('{"a": ')),
    isDeserialization(/JSON of topic "orders"/),
  );
  const invalidUtf8 = Buffer.from([0x61, 0xff, 0x62]);
  assert.throws(() => string.deserializeSync('orders', invalidUtf8), isDeserialization(/invalid UTF-8/));
  assert.throws(() => json.deserializeSync('orders', invalidUtf8), isDeserialization(/invalid UTF-8/));
});

test('values a format cannot hold are SerializationErrors, not silently altered', () => {
  const cases: [typeof string, unknown, RegExp][] = [
    [string, 42, /a number as a string/],
    [string, 'a\uD800b', /lone UTF-16 surrogate/], // Buffer.from would write U+FFFD instead
    [json, undefined, /undefined as JSON/],
    [json, { n: 1n }, /BigInt/],
    [bytes, 'text', /non-Buffer/],
  ];
  for (const [serde, value, message] of cases) {
    assert.throws(
      () => serde.serializeSync('orders', value),
      (error: Error) => error instanceof SerializationError && error.topic === 'orders' && message.test(error.message),
      String(message),
    );
  }
});

test('avro loads <schemasDir>/<schema>.avsc and picks the key or value subject', async () => {
  const registry = new MemoryRegistryClient();
  const key = serdeFor({ type: 'avro', schema: 'DeadLetter' }, { registry, schemasDir, isKey: true });
  assert.ok(key instanceof AvroSerde);
  assert.equal(key.type.name, 'dev.parley.DeadLetter');
  await key.prepare('dlq');
  assert.notEqual(await registry.latestId('dlq-key'), undefined);
  assert.equal(await registry.latestId('dlq-value'), undefined);
});

test('a DeadLetter round trips through the avro format', async () => {
  const serde = serdeFor({ type: 'avro', schema: 'DeadLetter' }, options());
  const letter = {
    topic: 'proposals',
    partition: 2,
    offset: 1234,
    processor: 'proposal',
    errorClass: 'DeserializationError',
    message: 'bad magic byte',
    stack: null,
    timestamp: Date.parse('2026-11-25T12:00:00Z'),
    key: Buffer.from('k'),
    value: null,
    headers: { trace: Buffer.from([1, 2]) },
  };
  assert.deepStrictEqual(await serde.deserialize('dlq', await serde.serialize('dlq', letter)), letter);
});

test('a missing or invalid .avsc names its path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-schemas-'));
  writeFileSync(join(dir, 'Broken.avsc'), '{"type": "record", "name": "Broken", "fields": [{"name": "a"}]}');
  writeFileSync(join(dir, 'NotJson.avsc'), '{"type": ');
  const load = (schema: string) => () => serdeFor({ type: 'avro', schema }, options({ schemasDir: dir }));
  const fails = (code: string, pattern: RegExp) => (error: SchemaFileError) =>
    error instanceof SchemaFileError && error.code === code && pattern.test(error.message);
  const missing = join(dir, 'Missing.avsc');
  assert.throws(load('Missing'), fails('SCHEMA_FILE_NOT_FOUND', new RegExp(`${missing}: no such file`)));
  assert.throws(load('Broken'), fails('INVALID_SCHEMA', new RegExp(`${join(dir, 'Broken.avsc')} is invalid`)));
  assert.throws(load('NotJson'), fails('INVALID_SCHEMA', /NotJson\.avsc is invalid: .*JSON/));
});
