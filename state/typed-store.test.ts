/** The typed layer (serdes) and the metered layer over the task store. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Serde } from '../schemas/serde.ts';
import { MemoryBytesStore } from './memory-bytes-store.ts';
import { MeteredStore, type StoreMetrics, type StoreOperation } from './metered-store.ts';
import { TaskStore } from './task-store.ts';
import { TypedStore } from './typed-store.ts';
import type { KeyValueStore, RangeQuery } from './types.ts';

const topic = 'app-store-changelog';

/** Unsigned 32-bit big-endian: byte order equals numeric order. */
const uint32: Serde<number> = {
  serialize: (_topic, n) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(n);
    return bytes;
  },
  deserialize: (_topic, bytes) => bytes!.readUInt32BE(0),
};
const json = <T>(): Serde<T> => ({
  serialize: (_topic, value) => (value === null ? null : Buffer.from(JSON.stringify(value))),
  deserialize: (_topic, bytes) => JSON.parse(bytes!.toString()) as T,
});
const text: Serde<string> = {
  serialize: (_topic, value) => Buffer.from(value),
  deserialize: (_topic, bytes) => bytes!.toString(),
};

async function collect<K, V>(store: KeyValueStore<K, V>, query?: RangeQuery<K>): Promise<[K, V][]> {
  const rows: [K, V][] = [];
  for await (const { key, value } of store.range(query)) rows.push([key, value]);
  return rows;
}

test('typed put/get/delete/range round-trip through the serdes and see uncommitted writes', async () => {
  const inner = new MemoryBytesStore('s');
  const store = new TypedStore(new TaskStore(inner), uint32, json<{ n: number }>(), topic);
  for (const n of [300, 2, 70000, 10]) store.put(n, { n });
  store.delete(10);
  assert.deepEqual(await store.get(2), { n: 2 });
  assert.equal(await store.get(10), undefined);
  assert.deepEqual(await collect(store), [
    [2, { n: 2 }],
    [300, { n: 300 }],
    [70000, { n: 70000 }],
  ]);
  assert.deepEqual(await collect(store, { from: 3, to: 70000, reverse: true }), [[300, { n: 300 }]]);
  assert.deepEqual(
    store.pendingChangelog().map((r) => [r.key.readUInt32BE(0), r.value?.toString() ?? null]),
    [
      [300, '{"n":300}'],
      [2, '{"n":2}'],
      [70000, '{"n":70000}'],
      [10, null],
    ],
  );
  await store.flush({ 0: 1 });
  assert.deepEqual(await inner.get(uint32.serialize(topic, 300) as Buffer), Buffer.from('{"n":300}'));
});

test('range order is the byte order of serialized keys, not the order of the typed keys', async () => {
  const store = new TypedStore(new TaskStore(new MemoryBytesStore('s')), text, text, topic);
  for (const key of ['9', '10', '100', 'a', 'B']) store.put(key, key);
  assert.deepEqual(
    (await collect(store)).map(([key]) => key),
    ['10', '100', '9', 'B', 'a'],
  );
});

test('a value that serializes to null is a tombstone', async () => {
  const store = new TypedStore(new TaskStore(new MemoryBytesStore('s')), text, json<string | null>(), topic);
  store.put('k', 'v');
  await store.flush({});
  store.put('k', null);
  assert.equal(await store.get('k'), undefined);
  assert.deepEqual(store.pendingChangelog(), [{ key: Buffer.from('k'), value: null }]);
});

test('a serde that serializes asynchronously is refused at the first write (SERDE_NOT_SYNC)', async () => {
  const asyncText: Serde<string> = {
    serialize: async (_topic, value) => Buffer.from(value),
    deserialize: (_topic, bytes) => bytes!.toString(),
  };
  const failing: Serde<string> = {
    serialize: () => Promise.reject(new Error('registry down')),
    deserialize: (_topic, bytes) => bytes!.toString(),
  };
  const asyncValues = new TypedStore(new TaskStore(new MemoryBytesStore('s')), text, asyncText, topic);
  assert.throws(() => asyncValues.put('k', 'v'), { code: 'SERDE_NOT_SYNC', retriable: false });
  assert.deepEqual(asyncValues.pendingChangelog(), [], 'nothing half-written');
  const asyncKeys = new TypedStore(new TaskStore(new MemoryBytesStore('s')), failing, text, topic);
  assert.throws(() => asyncKeys.delete('k'), { code: 'SERDE_NOT_SYNC' });
  await assert.rejects(asyncKeys.get('k'), { code: 'SERDE_NOT_SYNC' });
  // The refused promise rejected; had it been left unhandled, node:test would fail this file.
  await new Promise((resolve) => setImmediate(resolve));
});

test('deserialization may be asynchronous (a registry lookup)', async () => {
  const lookups: string[] = [];
  const asyncRead: Serde<string> = {
    serialize: (_topic, value) => Buffer.from(value),
    deserialize: async (t, bytes) => {
      lookups.push(t);
      return bytes!.toString().toUpperCase();
    },
  };
  const store = new TypedStore(new TaskStore(new MemoryBytesStore('s')), asyncRead, asyncRead, topic);
  store.put('a', 'x');
  store.put('b', 'y');
  assert.equal(await store.get('a'), 'X');
  assert.deepEqual(await collect(store), [
    ['A', 'X'],
    ['B', 'Y'],
  ]);
  assert.ok(lookups.length === 5 && lookups.every((t) => t === topic), 'serdes are told the changelog topic');
});

test('the metered layer reports one call per operation with its duration, failures included', async () => {
  const calls: [StoreOperation, string, number][] = [];
  const metrics: StoreMetrics = { record: (op, name, seconds) => calls.push([op, name, seconds]) };
  const typed = new TypedStore(new TaskStore(new MemoryBytesStore('orders')), text, text, topic);
  const store = new MeteredStore(typed, metrics);
  store.put('a', '1');
  store.put('b', '2');
  store.delete('b');
  assert.equal(await store.get('a'), '1');
  for await (const row of store.range()) {
    assert.equal(row.key, 'a');
    assert.equal(calls.filter(([op]) => op === 'range').length, 0, 'a range is timed until it ends');
  }
  await store.flush({ 0: 1 });
  await store.restore([{ key: Buffer.from('c'), value: Buffer.from('3') }]);
  store.put('d', '4');
  await assert.rejects(store.restore([]), { code: 'STORE_BUSY' });
  assert.deepEqual(
    calls.map(([op, name]) => `${op}:${name}`),
    ['put', 'put', 'delete', 'get', 'range', 'flush', 'restore', 'put', 'restore'].map((op) => `${op}:orders`),
  );
  assert.ok(calls.every(([, , seconds]) => seconds >= 0 && seconds < 10));
  assert.equal(await store.get('c'), '3', 'the metered layer passes everything through');
});
