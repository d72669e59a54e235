/**
 * The task store's commit lifecycle: flush only after the commit, discard after an abort, and restoration
 * that can be replayed without changing the outcome.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangelogOffsets } from './checkpoint.ts';
import { MemoryBytesStore } from './memory-bytes-store.ts';
import { TaskStore, type ChangelogRecord, type Checkpointer } from './task-store.ts';
import type { BytesStore } from './types.ts';

const s = (text: string): Buffer => Buffer.from(text);

async function contents(store: BytesStore | TaskStore): Promise<Record<string, string>> {
  const rows: Record<string, string> = {};
  for await (const { key, value } of store.range({})) rows[key.toString()] = value.toString();
  return rows;
}

/** Records every checkpoint together with what the inner store held at that moment. */
function recordingCheckpointer(inner: BytesStore) {
  const written: { offsets: ChangelogOffsets; inner: Record<string, string> }[] = [];
  const checkpointer: Checkpointer = {
    write: async (offsets) => {
      written.push({ offsets, inner: await contents(inner) });
    },
  };
  return { written, checkpointer };
}

test('writes stay pending until flush, which writes the batch and THEN the checkpoint', async () => {
  const inner = new MemoryBytesStore('t');
  await inner.write([{ key: s('old'), value: s('0') }]);
  const { written, checkpointer } = recordingCheckpointer(inner);
  const store = new TaskStore(inner, checkpointer, { 0: 4 });
  store.put(s('a'), s('1'));
  store.put(s('a'), s('2'));
  store.delete(s('old'));
  assert.deepEqual(store.pendingChangelog(), [
    { key: s('a'), value: s('2') },
    { key: s('old'), value: null },
  ]);
  assert.deepEqual(await contents(inner), { old: '0' }, 'nothing reaches the inner store before the commit');
  assert.deepEqual(await contents(store), { a: '2' }, 'the task sees its own writes');

  await store.flush({ 1: 9 });
  assert.deepEqual(await contents(inner), { a: '2' });
  assert.deepEqual(store.pendingChangelog(), []);
  assert.deepEqual(written, [{ offsets: { 0: 4, 1: 9 }, inner: { a: '2' } }], 'merged offsets, after the batch');
  await store.flush({ 1: 9 });
  store.put(s('b'), s('1'));
  await store.flush({ 1: 9 });
  assert.deepEqual(await contents(inner), { a: '2', b: '1' });
  assert.equal(written.length, 1, 'the same offsets: no checkpoint rewrite, with or without a batch');
  await store.flush({ 0: 5 });
  assert.deepEqual(written[1], { offsets: { 0: 5, 1: 9 }, inner: { a: '2', b: '1' } }, 'advanced offsets are');
});

test('discard after an abort forgets the pending writes and checkpoints nothing', async () => {
  const inner = new MemoryBytesStore('t');
  await inner.write([{ key: s('k'), value: s('committed') }]);
  const { written, checkpointer } = recordingCheckpointer(inner);
  const store = new TaskStore(inner, checkpointer);
  store.put(s('k'), s('uncommitted'));
  store.put(s('n'), s('new'));
  store.discard();
  assert.deepEqual(store.pendingChangelog(), []);
  assert.deepEqual(await store.get(s('k')), s('committed'));
  assert.equal(await store.get(s('n')), undefined);
  await store.flush({});
  assert.deepEqual(await contents(inner), { k: 'committed' });
  assert.deepEqual(written, []);
});

test('a failed batch write keeps the entries pending, under any newer write', async () => {
  const inner = new MemoryBytesStore('t');
  let failures = 1;
  const flaky: BytesStore = Object.assign(Object.create(inner) as BytesStore, {
    write: async (batch: readonly ChangelogRecord[]) => {
      if (failures-- > 0) throw new Error('disk on fire');
      await inner.write(batch);
    },
  });
  const store = new TaskStore(flaky);
  store.put(s('a'), s('1'));
  store.put(s('b'), s('1'));
  const flushing = store.flush({ 0: 1 });
  store.put(s('b'), s('2')); // the next transaction's write, made while the flush runs
  await assert.rejects(flushing, /disk on fire/);
  assert.deepEqual(
    store.pendingChangelog().map((r) => `${r.key}=${r.value}`),
    ['a=1', 'b=2'],
  );
  await store.flush({ 0: 2 });
  assert.deepEqual(await contents(inner), { a: '1', b: '2' });
});

test('a second flush while one runs is refused (STORE_BUSY), as is a restore with writes pending', async () => {
  let release = () => {};
  const checkpointing = new Promise<void>((resolve) => (release = resolve));
  let checkpointStarted = () => {};
  const started = new Promise<void>((resolve) => (checkpointStarted = resolve));
  const store = new TaskStore(new MemoryBytesStore('t'), {
    write: () => {
      checkpointStarted();
      return checkpointing;
    },
  });
  store.put(s('a'), s('1'));
  const first = store.flush({ 0: 1 });
  await assert.rejects(store.flush({ 0: 2 }), { code: 'STORE_BUSY' }, 'refused while the batch is written');
  await started;
  await assert.rejects(store.flush({ 0: 2 }), { code: 'STORE_BUSY' }, 'refused while the checkpoint is written');
  await assert.rejects(store.restore([]), { code: 'STORE_BUSY' });
  release();
  await first;
  await store.flush({ 0: 2 });
  store.put(s('b'), s('1'));
  await assert.rejects(store.restore([{ key: s('x'), value: s('1') }]), { code: 'STORE_BUSY' });
});

test('restore applies changelog records directly; replaying them (whole or from any earlier point) is idempotent', async () => {
  const changelog: ChangelogRecord[] = [
    { key: s('a'), value: s('1') },
    { key: s('b'), value: s('1') },
    { key: s('a'), value: s('2') },
    { key: s('c'), value: s('1') },
    { key: s('b'), value: null },
    { key: s('d'), value: s('1') },
    { key: s('c'), value: s('2') },
  ];
  const expected = { a: '2', c: '2', d: '1' };
  const once = new TaskStore(new MemoryBytesStore('once'));
  await once.restore(changelog);
  assert.deepEqual(await contents(once), expected);
  assert.deepEqual(once.pendingChangelog(), [], 'restored records are not logged again');

  for (let ahead = 0; ahead <= changelog.length; ahead++) {
    for (let checkpoint = 0; checkpoint <= ahead; checkpoint++) {
      // The store got as far as `ahead`, the checkpoint says `checkpoint` (a crash in between): replay.
      const store = new TaskStore(new MemoryBytesStore('replay'));
      await store.restore(changelog.slice(0, ahead));
      await store.restore(changelog.slice(checkpoint));
      assert.deepEqual(await contents(store), expected, `store at ${ahead}, checkpoint at ${checkpoint}`);
    }
  }
});

test('close drops pending writes, closes the inner store, and refuses later use', async () => {
  const inner = new MemoryBytesStore('t');
  const store = new TaskStore(inner);
  store.put(s('a'), s('1'));
  await store.close();
  await assert.rejects(inner.get(s('a')), { code: 'STORE_CLOSED' });
  assert.throws(() => store.put(s('a'), s('1')), { code: 'STORE_CLOSED' });
  assert.throws(() => store.pendingChangelog(), { code: 'STORE_CLOSED' });
  await assert.rejects(store.get(s('a')), { code: 'STORE_CLOSED' });
  await store.close();
});

test('a failed checkpoint write surfaces, and the next flush writes the merged offsets', async () => {
  const inner = new MemoryBytesStore('t');
  const offsets: ChangelogOffsets[] = [];
  let fail = true;
  const store = new TaskStore(inner, {
    write: async (o) => {
      if (fail) throw new Error('no space');
      offsets.push(o);
    },
  });
  store.put(s('a'), s('1'));
  await assert.rejects(store.flush({ 0: 3 }), /no space/);
  assert.deepEqual(await contents(inner), { a: '1' }, 'the batch itself landed');
  fail = false;
  await store.flush({ 1: 1 });
  assert.deepEqual(offsets, [{ 0: 3, 1: 1 }]);
});
