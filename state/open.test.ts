/**
 * openStore: directory layout, checkpoints across restarts, the crash windows of the commit protocol, and
 * wiping plus rebuilding whenever the local state cannot be trusted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Serde } from '../schemas/serde.ts';
import { changelogTopicName, type StoreSpec } from '../topology/model.ts';
import { checkpointPath, readCheckpoint } from './checkpoint.ts';
import { StoreLockedError } from './errors.ts';
import { openStore, storeChangelogTopic, storeDirectory, type OpenStoreOptions } from './open.ts';
import type { ChangelogRecord } from './task-store.ts';
import type { TaskKeyValueStore } from './typed-store.ts';

const text: Serde<string> = {
  serialize: (_topic, value) => Buffer.from(value),
  deserialize: (_topic, bytes) => bytes!.toString(),
};
const spec = (overrides: Partial<StoreSpec> = {}): StoreSpec => ({
  name: 'votes',
  kind: 'rocksdb',
  changelog: true,
  key: { type: 'string' },
  value: { type: 'string' },
  ...overrides,
});

let root = '';
let dirs = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'parley-open-store-'));
});
after(() => rm(root, { recursive: true, force: true }));

function options(dir: string, extra: Partial<OpenStoreOptions<string, string>> = {}): OpenStoreOptions<string, string> {
  return { dir, application: 'app', taskId: '0_1', keySerde: text, valueSerde: text, sync: false, ...extra };
}
const freshDir = () => join(root, `state-${dirs++}`);
const storeDir = (dir: string) => storeDirectory(dir, 'app', '0_1', 'votes');

async function contents(store: TaskKeyValueStore<string, string>): Promise<Record<string, string>> {
  const rows: Record<string, string> = {};
  for await (const { key, value } of store.range()) rows[key] = value;
  return rows;
}

/**
 * A task's commit as the runtime does it, with the changelog partition as an array: the pending records are
 * appended (the transaction commits), then the store is flushed with the offset after them.
 */
async function commit(store: TaskKeyValueStore<string, string>, changelog: ChangelogRecord[]): Promise<void> {
  changelog.push(...store.pendingChangelog());
  await store.flush({ 1: changelog.length });
}

async function reopenAndRestore(dir: string, changelog: ChangelogRecord[]) {
  const opened = await openStore(spec(), options(dir, { changelogPartitions: [1] }));
  await opened.store.restore(changelog.slice(opened.restoreFrom[1]));
  await opened.store.flush({ 1: changelog.length });
  return opened;
}

test('layout <dir>/<application>/<taskId>/<store>/, and the changelog topic matches topology/model.ts', async () => {
  const dir = freshDir();
  const { store, restoreFrom, rebuilt } = await openStore(spec(), options(dir));
  assert.deepEqual([restoreFrom, rebuilt], [{}, false]);
  assert.deepEqual((await readdir(storeDir(dir))).sort(), ['.checkpoint', 'rocksdb']);
  assert.deepEqual(await readCheckpoint(storeDir(dir)), { ok: true, found: true, offsets: {} });
  assert.equal(storeChangelogTopic('app', 'votes'), changelogTopicName('app', 'votes'));
  await store.close();
});

test('flushed state and its checkpoint survive a restart; restoreFrom says where to resume', async () => {
  const dir = freshDir();
  const changelog: ChangelogRecord[] = [];
  const first = await openStore(spec(), options(dir, { changelogPartitions: [1, 4] }));
  assert.deepEqual(first.restoreFrom, { 1: 0, 4: 0 });
  first.store.put('a', '1');
  first.store.put('b', '1');
  await commit(first.store, changelog);
  await first.store.close();

  const second = await openStore(spec(), options(dir, { changelogPartitions: [1, 4] }));
  assert.deepEqual([second.restoreFrom, second.rebuilt], [{ 1: 2, 4: 0 }, false]);
  assert.deepEqual(await contents(second.store), { a: '1', b: '1' });
  await second.store.close();
});

test('crash before the commit: the uncommitted writes are nowhere, locally or in the changelog', async () => {
  const dir = freshDir();
  const changelog: ChangelogRecord[] = [];
  const first = await openStore(spec(), options(dir));
  first.store.put('a', '1');
  await commit(first.store, changelog);
  first.store.put('a', 'uncommitted');
  first.store.put('z', 'uncommitted');
  await first.store.close(); // the crash: the transaction never committed, so no flush

  const second = await reopenAndRestore(dir, changelog);
  assert.deepEqual(await contents(second.store), { a: '1' });
  await second.store.close();
});

test('crash between the commit and the flush: replaying from the checkpoint repairs the store', async () => {
  const dir = freshDir();
  const changelog: ChangelogRecord[] = [];
  const first = await openStore(spec(), options(dir));
  first.store.put('a', '1');
  first.store.put('b', '1');
  await commit(first.store, changelog);
  first.store.put('a', '2');
  first.store.delete('b');
  first.store.put('c', '2');
  changelog.push(...first.store.pendingChangelog()); // committed ...
  await first.store.close(); // ... and the crash comes before the flush

  const second = await reopenAndRestore(dir, changelog);
  assert.deepEqual(second.restoreFrom, { 1: 2 });
  assert.deepEqual(await contents(second.store), { a: '2', c: '2' });
  await second.store.close();
  const third = await reopenAndRestore(dir, changelog);
  assert.deepEqual([third.restoreFrom, await contents(third.store)], [{ 1: 5 }, { a: '2', c: '2' }]);
  await third.store.close();
});

/** Opens, commits some state, closes, lets `damage` break something, and reopens. */
async function damagedReopen(damage: (storeDir: string) => Promise<void>) {
  const dir = freshDir();
  const first = await openStore(spec(), options(dir));
  first.store.put('a', '1');
  await commit(first.store, []);
  await first.store.close();
  await damage(storeDir(dir));
  const opened = await openStore(spec(), options(dir, { changelogPartitions: [1] }));
  const state = await contents(opened.store);
  await opened.store.close();
  return { ...opened, state, checkpoint: await readCheckpoint(storeDir(dir)) };
}

test('a corrupt checkpoint (flipped byte, truncation) wipes the store: rebuild from 0', async () => {
  const flip = async (d: string) => {
    const bytes = await readFile(checkpointPath(d));
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x04;
    await writeFile(checkpointPath(d), bytes);
  };
  const truncate = async (d: string) =>
    writeFile(checkpointPath(d), (await readFile(checkpointPath(d))).subarray(0, 30));
  for (const damage of [flip, truncate]) {
    const opened = await damagedReopen(damage);
    assert.equal(opened.rebuilt, true);
    assert.match(opened.reason ?? '', /checkpoint unusable/);
    assert.deepEqual(opened.restoreFrom, { 1: 0 });
    assert.deepEqual(opened.state, {}, 'the old contents are gone');
    assert.deepEqual(opened.checkpoint, { ok: true, found: true, offsets: {} });
  }
});

test('a corrupt RocksDB directory (garbage in CURRENT or MANIFEST) is wiped and rebuilt', async () => {
  for (const prefix of ['CURRENT', 'MANIFEST']) {
    const opened = await damagedReopen(async (d) => {
      const file = (await readdir(join(d, 'rocksdb'))).find((name) => name.startsWith(prefix))!;
      await writeFile(join(d, 'rocksdb', file), 'garbage\n');
    });
    assert.equal(opened.rebuilt, true, prefix);
    assert.match(opened.reason ?? '', /corrupt/i);
    assert.deepEqual(opened.restoreFrom, { 1: 0 });
    assert.deepEqual(opened.state, {});
    assert.deepEqual(opened.checkpoint, { ok: true, found: true, offsets: {} }, 'the stale checkpoint is gone');
  }
});

test('a database without its checkpoint, or a checkpoint without its database, is not trusted', async () => {
  const noCheckpoint = await damagedReopen((d) => rm(checkpointPath(d)));
  assert.deepEqual([noCheckpoint.rebuilt, noCheckpoint.restoreFrom, noCheckpoint.state], [true, { 1: 0 }, {}]);
  const noDatabase = await damagedReopen((d) => rm(join(d, 'rocksdb'), { recursive: true }));
  assert.deepEqual([noDatabase.rebuilt, noDatabase.restoreFrom], [true, { 1: 0 }]);
  assert.match(noDatabase.reason ?? '', /without a database/);
});

test('a store still open elsewhere is reported as locked (retriable) and left intact', async () => {
  const dir = freshDir();
  const holder = await openStore(spec(), options(dir));
  holder.store.put('a', '1');
  await commit(holder.store, []);
  await assert.rejects(openStore(spec(), options(dir)), StoreLockedError);
  assert.deepEqual(await contents(holder.store), { a: '1' });
  assert.deepEqual(await readCheckpoint(storeDir(dir)), { ok: true, found: true, offsets: { 1: 1 } }, 'not wiped');
  await holder.store.close();
});

test('memory stores restore from 0 every time; changelog: false keeps RocksDB data without a checkpoint', async () => {
  const dir = freshDir();
  const memory = await openStore(spec({ kind: 'memory' }), options(dir, { changelogPartitions: [1] }));
  memory.store.put('a', '1');
  await memory.store.flush({ 1: 1 });
  await memory.store.close();
  const again = await openStore(spec({ kind: 'memory' }), options(dir, { changelogPartitions: [1] }));
  assert.deepEqual([again.restoreFrom, again.rebuilt, await contents(again.store)], [{ 1: 0 }, false, {}]);
  await again.store.close();
  await assert.rejects(readdir(storeDir(dir)), { code: 'ENOENT' }, 'memory stores touch no disk');

  const local = await openStore(spec({ changelog: false }), options(dir));
  local.store.put('k', 'v');
  await local.store.flush({});
  await local.store.close();
  const reopened = await openStore(spec({ changelog: false }), options(dir));
  assert.deepEqual([reopened.restoreFrom, reopened.rebuilt, await contents(reopened.store)], [{}, false, { k: 'v' }]);
  assert.deepEqual(await readdir(storeDir(dir)), ['rocksdb']);
  await reopened.store.close();
});

test('with metrics, the returned store is metered', async () => {
  const ops: string[] = [];
  const opened = await openStore(
    spec({ kind: 'memory' }),
    options(freshDir(), { metrics: { record: (op, store) => ops.push(`${op}:${store}`) } }),
  );
  opened.store.put('a', '1');
  assert.equal(await opened.store.get('a'), '1');
  assert.deepEqual(ops, ['put:votes', 'get:votes']);
  await opened.store.close();
});
