import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bytesStoreContract } from './bytes-store-contract.ts';
import { StoreCorruptError, StoreLockedError } from './errors.ts';
import { openRocksDbStore } from './rocksdb-bytes-store.ts';

let root = '';
let opened = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'parley-rocksdb-store-'));
});
after(() => rm(root, { recursive: true, force: true }));

bytesStoreContract('rocksdb', async () => {
  const dir = join(root, `contract-${opened++}`);
  const store = await openRocksDbStore(dir, 'contract');
  return {
    store,
    dispose: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

test('rocksdb: data survives close and reopen', async () => {
  const dir = join(root, 'reopen');
  const first = await openRocksDbStore(dir, 'reopen');
  await first.write([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
  await first.close();
  const second = await openRocksDbStore(dir, 'reopen');
  assert.deepEqual(await second.get(Buffer.from('k')), Buffer.from('v'));
  await second.close();
});

test('rocksdb: garbage in CURRENT or MANIFEST is a StoreCorruptError naming the path, not retriable', async () => {
  for (const target of ['CURRENT', 'MANIFEST']) {
    const dir = join(root, `corrupt-${target}`);
    const store = await openRocksDbStore(dir, 'corrupt');
    await store.write([{ key: Buffer.from('k'), value: Buffer.from('v') }]);
    await store.close();
    const file = (await readdir(dir)).find((name) => name.startsWith(target));
    assert.ok(file, `${target} file exists`);
    await writeFile(join(dir, file), Buffer.alloc(64, 0x5a));
    await assert.rejects(openRocksDbStore(dir, 'corrupt'), (error: unknown) => {
      assert.ok(error instanceof StoreCorruptError, String(error));
      assert.equal(error.code, 'STORE_CORRUPT');
      assert.equal(error.retriable, false);
      assert.equal(error.path, dir);
      assert.match(error.reason, /corrupt/i);
      return true;
    });
  }
});

test('rocksdb: a database held by another handle is a retriable StoreLockedError', async () => {
  const dir = join(root, 'locked');
  const holder = await openRocksDbStore(dir, 'locked');
  await assert.rejects(openRocksDbStore(dir, 'locked'), (error: unknown) => {
    assert.ok(error instanceof StoreLockedError, String(error));
    assert.equal(error.code, 'STORE_LOCKED');
    assert.equal(error.retriable, true);
    return true;
  });
  await holder.close();
});
