/**
 * The in-process registry keeps Confluent's semantics: global ids stable per distinct content, versioned
 * subjects, and the subject's compatibility level enforced on register.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IncompatibleSchemaError, SchemaRegistryError } from './errors.ts';
import { MemoryRegistryClient } from './registry.ts';

const record = (fields: object[]) => JSON.stringify({ type: 'record', name: 'Thing', namespace: 'test', fields });
const v1 = record([{ name: 'id', type: 'string' }]);
const v2 = record([
  { name: 'id', type: 'string' },
  { name: 'count', type: 'long', default: 0 },
]);
const addedWithoutDefault = record([
  { name: 'id', type: 'string' },
  { name: 'owner', type: 'string' },
]);

test('ids start at 1, follow registration order and are shared by equal content under every subject', async () => {
  const registry = new MemoryRegistryClient();
  assert.equal(await registry.register('a-value', v1), 1);
  assert.equal(await registry.register('a-value', v2), 2);
  assert.equal(await registry.register('b-value', v1), 1, 'same content, another subject: same id');
  // Key order and whitespace do not make content distinct; a default does.
  const reordered = `{ "namespace": "test", "fields": [{ "type": "string", "name": "id" }], "name": "Thing", "type": "record" }`;
  assert.equal(await registry.register('c-value', reordered), 1);
  const withDefault = record([{ name: 'id', type: 'string', default: '' }]);
  assert.equal(await registry.register('c-value', withDefault), 3);
  assert.equal(await registry.getSchema(1), v1);
});

test('registering content a subject already has adds no version', async () => {
  const registry = new MemoryRegistryClient();
  const first = await registry.register('s-value', v1);
  const second = await registry.register('s-value', v2);
  assert.equal(await registry.register('s-value', v1), first);
  assert.equal(await registry.latestId('s-value'), second, 'v1 again is not a new latest version');
});

test('an unknown id or subject is reported as such', async () => {
  const registry = new MemoryRegistryClient();
  assert.equal(await registry.latestId('nothing-value'), undefined);
  await assert.rejects(registry.getSchema(7), (error: SchemaRegistryError) => {
    assert.equal(error.code, 'SCHEMA_NOT_FOUND');
    assert.equal(error.retriable, false);
    assert.match(error.message, /memory:\/\/ has no schema with id 7/);
    return true;
  });
});

test('without a level (NONE, like Apicurio) an incompatible schema registers', async () => {
  const registry = new MemoryRegistryClient();
  await registry.register('s-value', v1);
  assert.equal(await registry.checkCompatibility('s-value', addedWithoutDefault), true);
  assert.equal(await registry.register('s-value', addedWithoutDefault), 2);
});

test('under BACKWARD an incompatible schema is rejected with reasons and a compatible one is accepted', async () => {
  const registry = new MemoryRegistryClient();
  await registry.register('s-value', v1);
  await registry.setCompatibility('s-value', 'BACKWARD');
  assert.equal(await registry.checkCompatibility('s-value', addedWithoutDefault), false);
  await assert.rejects(registry.register('s-value', addedWithoutDefault), (error: IncompatibleSchemaError) => {
    assert.ok(error instanceof IncompatibleSchemaError);
    assert.equal(error.code, 'INCOMPATIBLE_SCHEMA');
    assert.equal(error.retriable, false);
    assert.equal(error.subject, 's-value');
    assert.match(error.reasons.join('\n'), /test\.Thing\.owner: field added without a default/);
    assert.match(error.message, /"s-value".*BACKWARD/);
    return true;
  });
  assert.equal(await registry.checkCompatibility('s-value', v2), true);
  assert.equal(await registry.register('s-value', v2), 2, 'the rejected schema took no id');
  assert.equal(await registry.checkCompatibility('new-subject-value', addedWithoutDefault), true);
});

test('BACKWARD compares with the latest version only, BACKWARD_TRANSITIVE with all of them', async () => {
  const oldest = record([{ name: 'x', type: 'string' }]);
  const middle = record([]);
  const newest = record([{ name: 'x', type: 'int', default: 0 }]); // reads `middle`, not the string of `oldest`
  const registry = new MemoryRegistryClient({ defaultCompatibility: 'BACKWARD' });
  await registry.register('s-value', oldest);
  await registry.register('s-value', middle);
  assert.equal(await registry.checkCompatibility('s-value', newest), true);
  await registry.setCompatibility('s-value', 'BACKWARD_TRANSITIVE');
  assert.equal(await registry.checkCompatibility('s-value', newest), false);
});

test('FORWARD checks that the old schema reads new data', async () => {
  const registry = new MemoryRegistryClient();
  await registry.register('s-value', v2);
  await registry.setCompatibility('s-value', 'FORWARD');
  // Removing a field the old schema has a default for is FORWARD compatible; removing one without is not.
  assert.equal(await registry.checkCompatibility('s-value', v1), true);
  const removedRequired = record([{ name: 'count', type: 'long', default: 0 }]);
  assert.equal(await registry.checkCompatibility('s-value', removedRequired), false);
});

test('an invalid schema or level is refused, not stored', async () => {
  const registry = new MemoryRegistryClient();
  await assert.rejects(
    registry.register('s-value', '{"type": "record", "name": "X"}'),
    (error: SchemaRegistryError) => {
      assert.equal(error.code, 'INVALID_SCHEMA');
      assert.equal(error.registryCode, 42201);
      assert.match(error.message, /"s-value"/);
      return true;
    },
  );
  await assert.rejects(registry.register('s-value', 'not json'), { code: 'INVALID_SCHEMA' });
  await assert.rejects(registry.setCompatibility('s-value', 'SOMETIMES' as 'NONE'), {
    code: 'INVALID_COMPATIBILITY_LEVEL',
  });
  assert.equal(await registry.latestId('s-value'), undefined);
});
