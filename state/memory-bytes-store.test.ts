import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesStoreContract } from './bytes-store-contract.ts';
import { MemoryBytesStore } from './memory-bytes-store.ts';

bytesStoreContract('memory', async () => {
  const store = new MemoryBytesStore('contract');
  return { store, dispose: () => store.close() };
});

test('memory: a bulk batch (re-sorted lazily) and small batches (spliced) keep one consistent byte order', async () => {
  const store = new MemoryBytesStore('bulk');
  // 500 keys in one batch take the re-sort path; the single-key batches after it take the splice path.
  const bulk = Array.from({ length: 500 }, (_, i) => ({
    key: Buffer.from([(i * 37) % 256, i >> 8]),
    value: Buffer.from([1]),
  }));
  await store.write(bulk);
  await store.write([{ key: Buffer.from([0x05, 0x00]), value: null }]);
  await store.write([{ key: Buffer.from([0x05, 0x00, 0x00]), value: Buffer.from([2]) }]);
  const expected = new Map(bulk.map(({ key }) => [key.toString('hex'), key]));
  expected.delete('0500');
  expected.set('050000', Buffer.from([0x05, 0x00, 0x00]));
  const rows: string[] = [];
  for await (const row of store.range()) rows.push(row.key.toString('hex'));
  assert.deepEqual(
    rows,
    [...expected.values()].sort(Buffer.compare).map((key) => key.toString('hex')),
  );
  assert.equal(await store.approximateSize(), expected.size);
  await store.close();
});
