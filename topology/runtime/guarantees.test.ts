/**
 * Processing guarantees (task.ts #commit, output.ts). exactly_once: a batch's outputs, changelog records and
 * input offsets are one transaction, invisible to read_committed readers until it commits; when the commit
 * fails the local store drops the batch's writes, and a new instance redoes the batch exactly once.
 * at_least_once: plain sends, offsets through the group's commitOffsets, no transactional producer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBackend } from '../backend/memory/backend.ts';
import type { TransactionalProducer } from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import type { ProcessingGuarantee } from '../model.ts';
import type { StreamsApp } from './app.ts';
import { appFor, proc, readAll, registryOf, stateRoot, text, wrapBackend } from './testing.ts';

const dirs = stateRoot('guarantees');

/** in → count (store `counts`, a running count per key) → out `<key>=<count>`. */
function counter(guarantee: ProcessingGuarantee) {
  const topology = new TopologyBuilder('count')
    .guarantee(guarantee)
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 1, key: 'string', value: 'string' })
    .store({ name: 'counts', key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('count', { processor: 'count', parents: ['src'], stores: ['counts'] })
    .sink('sink', { topic: 'out', parents: ['count'] })
    .build();
  const registry = registryOf({
    count: proc(async (r, ctx) => {
      const counts = ctx.getStateStore<string, number>('counts');
      const next = ((await counts.get(String(r.key))) ?? 0) + 1;
      counts.put(String(r.key), next);
      ctx.forward({ ...r, value: String(next) });
    }),
  });
  return { topology, registry };
}

async function produce(backend: MemoryBackend, keys: string[]): Promise<void> {
  const producer = await backend.producer();
  await producer.send(keys.map((k) => ({ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') })));
}

/** What a read_committed reader, a read_uncommitted reader and the group see right now. */
async function view(backend: MemoryBackend) {
  return {
    committed: text(readAll(backend, 'out')),
    uncommitted: text(readAll(backend, 'out', false)),
    changelog: text(readAll(backend, 'count-counts-changelog')),
    offsets: await backend.committedOffsets('count', 'in'),
  };
}

test('exactly_once: outputs, changelog and offsets of a batch become visible together, at commit', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const atCommit: unknown[] = [];
  const wrapped = wrapBackend(backend, {
    transactionalProducer: (producer) => ({
      ...producer,
      transactionalId: producer.transactionalId,
      commit: async () => {
        atCommit.push(await view(backend));
        await producer.commit();
      },
    }),
  });
  const app = appFor({ ...counter('exactly_once'), backend: wrapped }, dirs.dir('eos'));
  await app.start();
  await produce(backend, ['a', 'b', 'a']);
  await backend.runUntilIdle();
  // Just before the commit: everything was sent, in the open transaction, and none of it is visible.
  assert.deepEqual(atCommit, [
    {
      committed: [],
      uncommitted: ['a=1', 'b=1', 'a=2'],
      changelog: [],
      offsets: [undefined],
    },
  ]);
  const after = await view(backend);
  assert.deepEqual(after.committed, ['a=1', 'b=1', 'a=2']);
  assert.deepEqual(after.changelog.sort(), ['a=2', 'b=1']); // one record per key: the last write wins
  assert.deepEqual(after.offsets, [3]);
  assert.equal(await app.store('counts', 0)!.get('a'), 2);
  await app.stop();
});

/** A transactional producer whose next `failures` commits throw before reaching the backend. */
function failingCommits(failures: number) {
  let left = failures;
  return (producer: TransactionalProducer): TransactionalProducer => ({
    ...producer,
    transactionalId: producer.transactionalId,
    commit: async () => {
      if (left-- > 0) throw new Error('injected commit failure');
      await producer.commit();
    },
  });
}

test('exactly_once: a failed commit leaves neither the store write nor the output; a new instance redoes it once', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const first = appFor(
    { ...counter('exactly_once'), backend: wrapBackend(backend, { transactionalProducer: failingCommits(1) }) },
    dirs.dir('eos-fail-1'),
  );
  await first.start();
  await produce(backend, ['a']);
  await backend.runUntilIdle();
  assert.equal(first.state, 'failed');
  assert.match(first.error!.message, /injected commit failure/);
  // The task's store was written during processing; the aborted transaction took the write back.
  assert.equal(await first.store<string, number>('counts', 0)!.get('a'), undefined);
  assert.deepEqual(await view(backend), {
    committed: [],
    uncommitted: ['a=1'], // aborted records stay in the log, but read_committed readers never see them
    changelog: [],
    offsets: [undefined],
  });
  await first.stop();

  const second = appFor({ ...counter('exactly_once'), backend }, dirs.dir('eos-fail-2'));
  await second.start();
  await backend.runUntilIdle();
  await produce(backend, ['a']);
  await backend.runUntilIdle();
  const after = await view(backend);
  assert.deepEqual(after.committed, ['a=1', 'a=2']);
  assert.deepEqual(after.changelog, ['a=1', 'a=2']);
  assert.deepEqual(after.offsets, [2]);
  assert.equal(await second.store('counts', 0)!.get('a'), 2);
  await second.stop();
});

test('exactly_once: input of an open transaction is not processed until it commits; aborted input never', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const app = appFor({ ...counter('exactly_once'), backend }, dirs.dir('eos-input'));
  await app.start();
  const upstream = await backend.transactionalProducer('upstream');
  const send = (k: string) => upstream.send([{ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') }]);
  await upstream.begin();
  await send('aborted');
  await upstream.abort();
  await upstream.begin();
  await send('open');
  await backend.runUntilIdle();
  assert.deepEqual((await view(backend)).committed, []);
  await upstream.commit();
  await backend.runUntilIdle();
  assert.deepEqual((await view(backend)).committed, ['open=1']);
  await app.stop();
});

test('at_least_once: offsets go through commitOffsets, stores restore from a plain changelog', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const commits: number[][] = [];
  let transactional = 0;
  const wrapped = wrapBackend(backend, {
    member: (member) => ({
      ...member,
      groupId: member.groupId,
      commitOffsets: async (offsets) => {
        commits.push(offsets.map((o) => o.offset));
        await member.commitOffsets(offsets);
      },
    }),
    transactionalProducer: (producer) => {
      transactional++;
      return producer;
    },
  });
  const run = async (app: StreamsApp, keys: string[]) => {
    await produce(backend, keys);
    await backend.runUntilIdle();
  };
  const first = appFor({ ...counter('at_least_once'), backend: wrapped }, dirs.dir('alo-1'));
  await first.start();
  await run(first, ['a', 'b']);
  await run(first, ['a']);
  assert.deepEqual(commits, [[2], [3]]);
  assert.deepEqual(await backend.committedOffsets('count', 'in'), [3]);
  assert.deepEqual(text(readAll(backend, 'out')), ['a=1', 'b=1', 'a=2']);
  await first.stop();

  // A new instance (empty state dir) starts at the committed offset and continues from the changelog.
  const second = appFor({ ...counter('at_least_once'), backend: wrapped }, dirs.dir('alo-2'));
  await second.start();
  await run(second, ['a', 'b']);
  assert.deepEqual(text(readAll(backend, 'out')), ['a=1', 'b=1', 'a=2', 'a=3', 'b=2']);
  assert.deepEqual(commits.at(-1), [5]);
  assert.equal(transactional, 0, 'at_least_once never opens a transactional producer');
  await second.stop();
});

/** Commits that fail `failures` times with a retriable error (a coordinator moving, say), before the backend. */
function retriableCommitFailures(failures: number, onFail: () => void = () => undefined) {
  let left = failures;
  return (producer: TransactionalProducer): TransactionalProducer => ({
    ...producer,
    transactionalId: producer.transactionalId,
    commit: async () => {
      if (left-- > 0) {
        onFail();
        throw Object.assign(new Error('injected CONCURRENT_TRANSACTIONS'), {
          code: 'CONCURRENT_TRANSACTIONS',
          retriable: true,
        });
      }
      await producer.commit();
    },
  });
}

test('exactly_once: a retriable commit failure is ridden out: the task is created again and redoes its batch once', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const corrupted: string[] = [];
  const app = appFor(
    {
      ...counter('exactly_once'),
      backend: wrapBackend(backend, { transactionalProducer: retriableCommitFailures(2) }),
      events: { taskCorrupted: (id) => corrupted.push(id) },
    },
    dirs.dir('eos-retriable'),
  );
  await app.start();
  await produce(backend, ['a', 'b']);
  await backend.runUntilIdle();
  assert.equal(app.state, 'running', app.error?.message);
  assert.deepEqual(corrupted, ['0_0', '0_0'], 'the task failed twice and was created again each time');
  const after = await view(backend);
  assert.deepEqual(after.committed, ['a=1', 'b=1'], 'each input counted once');
  assert.deepEqual(after.offsets, [2]);
  assert.equal(await app.store('counts', 0)!.get('a'), 1);
  await app.stop();
});

test('exactly_once: retriable commit failures for longer than the task timeout fail the application, saying so', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  let now = 0;
  const app = appFor(
    {
      ...counter('exactly_once'),
      // Every commit fails, 40 s of the test clock apart: the third is past the 60 s timeout.
      backend: wrapBackend(backend, {
        transactionalProducer: retriableCommitFailures(Infinity, () => (now += 40_000)),
      }),
      clock: { now: () => now },
      taskTimeoutMs: 60_000,
    },
    dirs.dir('eos-retriable-timeout'),
  );
  await app.start();
  await produce(backend, ['a']);
  await backend.runUntilIdle();
  assert.equal(app.state, 'failed');
  assert.match(
    app.error!.message,
    /task 0_0 failed to commit with retriable errors for \d+ ms, longer than the task timeout of 60000 ms \(taskTimeoutMs, PARLEY_TASK_TIMEOUT_MS\); last: injected CONCURRENT_TRANSACTIONS/,
  );
  assert.deepEqual((await view(backend)).committed, [], 'nothing committed');
  await app.stop();
});
