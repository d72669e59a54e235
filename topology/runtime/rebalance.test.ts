/**
 * Two StreamsApp instances of one application on one MemoryBackend (manual delivery), each with its own state
 * directory: when the second joins, the tasks are split; when one stops, the other takes its task over, restores
 * its store from the changelog and goes on counting where the first left off. Runs under both guarantees.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBackend } from '../backend/memory/backend.ts';
import { TopologyBuilder } from '../builder.ts';
import { defaultPartition } from '../backend/partitioner.ts';
import type { ProcessingGuarantee } from '../model.ts';
import type { StreamsApp } from './app.ts';
import { appFor, proc, readAll, registryOf, stateRoot, text } from './testing.ts';

const dirs = stateRoot('rebalance');

function counter(guarantee: ProcessingGuarantee, kind: 'rocksdb' | 'memory') {
  const topology = new TopologyBuilder('rb')
    .guarantee(guarantee)
    .topic({ name: 'in', partitions: 2, key: 'string', value: 'string' })
    .topic({ name: 'out', partitions: 2, key: 'string', value: 'string' })
    .store({ name: 'counts', kind, key: 'string', value: 'json' })
    .source('src', ['in'])
    .processor('count', { processor: 'count', parents: ['src'], stores: ['counts'] })
    .sink('sink', { topic: 'out', parents: ['count'] })
    .build();
  const registry = registryOf({
    count: proc(async (r, ctx) => {
      const counts = ctx.getStateStore<string, number>('counts');
      const next = ((await counts.get(String(r.key))) ?? 0) + 1;
      counts.put(String(r.key), next);
      ctx.forward({ ...r, value: `${ctx.taskId}:${next}` });
    }),
  });
  return { topology, registry };
}

/** Keys that land on partition 0 and 1 of a two-partition topic (Kafka's murmur2). */
const keyOn = (partition: number, n: number): string => {
  const keys: string[] = [];
  for (let i = 0; keys.length <= n; i++) {
    if (defaultPartition(Buffer.from(`k${i}`), 2) === partition) keys.push(`k${i}`);
  }
  return keys[n]!;
};

async function entries(app: StreamsApp, partition: number): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for await (const { key, value } of app.store<string, number>('counts', partition)!.range()) out.push([key, value]);
  return out;
}

for (const guarantee of ['exactly_once', 'at_least_once'] as const) {
  for (const kind of ['rocksdb', 'memory'] as const) {
    test(`${guarantee}, ${kind} store: tasks split on join and move with their state on leave`, async () => {
      const backend = new MemoryBackend({ mode: 'manual' });
      const { topology, registry } = counter(guarantee, kind);
      const [a0, b0, a1] = [keyOn(0, 0), keyOn(0, 1), keyOn(1, 0)];
      const producer = await backend.producer();
      const produce = async (keys: string[]) => {
        await producer.send(keys.map((k) => ({ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') })));
        await backend.runUntilIdle();
      };
      const created: string[] = [];
      const events = (name: string) => ({ taskCreated: (id: string) => void created.push(`${name}:${id}`) });

      const one = appFor({ topology, registry, backend, events: events('one') }, dirs.dir('one'));
      await one.start();
      assert.deepEqual(one.taskIds(), ['0_0', '0_1']);
      await produce([a0, a0, b0, a1, a1, a1]);

      const two = appFor({ topology, registry, backend, events: events('two') }, dirs.dir('two'));
      await two.start();
      assert.deepEqual([one.taskIds(), two.taskIds()], [['0_0'], ['0_1']]);
      // Task 0_1 moved: the second instance rebuilt its store from the changelog alone (its state dir was empty).
      assert.deepEqual(await entries(two, 1), [[a1, 3]]);
      assert.equal(one.store('counts', 1), undefined);
      await produce([a1, a0]);

      await one.stop();
      assert.deepEqual(two.taskIds(), ['0_0', '0_1']);
      assert.deepEqual(
        await entries(two, 0),
        [
          [a0, 3],
          [b0, 1],
        ].sort() as [string, number][],
      );
      await produce([a0, b0, a1]);
      assert.deepEqual(
        await entries(two, 0),
        [
          [a0, 4],
          [b0, 2],
        ].sort() as [string, number][],
      );
      assert.deepEqual(await entries(two, 1), [[a1, 5]]);

      // Every input counted exactly once, by whichever instance held the task then.
      const out = readAll(backend, 'out').map((r) => `${r.key}=${r.value}`);
      assert.deepEqual(out.filter((o) => o.startsWith(`${a1}=`)).sort(), [
        `${a1}=0_1:1`,
        `${a1}=0_1:2`,
        `${a1}=0_1:3`,
        `${a1}=0_1:4`,
        `${a1}=0_1:5`,
      ]);
      assert.equal(out.filter((o) => o.startsWith(`${a0}=`)).length, 4);
      assert.deepEqual(created, ['one:0_0', 'one:0_1', 'one:0_0', 'two:0_1', 'two:0_0', 'two:0_1']);
      assert.deepEqual(await backend.committedOffsets('rb', 'in'), [6, 5]);
      await two.stop();
      assert.equal(text(readAll(backend, 'out')).length, 11);
    });
  }
}

test('an instance that rejoins restores only what it missed, from its checkpoint', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const { topology, registry } = counter('exactly_once', 'rocksdb');
  const restored: string[] = [];
  const events = {
    restoreProgress: (task: string, _store: string, done: number, total: number) =>
      void (done === total && restored.push(`${task}:${total}`)),
  };
  const producer = await backend.producer();
  const produce = async (keys: string[]) => {
    await producer.send(keys.map((k) => ({ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') })));
    await backend.runUntilIdle();
  };
  const oneDir = dirs.dir('one');
  const one = appFor({ topology, registry, backend, events }, oneDir);
  await one.start();
  await produce([keyOn(1, 0), keyOn(1, 1), keyOn(1, 0)]);
  const two = appFor({ topology, registry, backend, events }, dirs.dir('two'));
  await two.start(); // one keeps 0_0 (restores 0 records), two restores 0_1 (2 changelog records)
  await produce([keyOn(1, 2)]);
  await one.stop();
  restored.length = 0;
  // A new instance over the first one's state dir: its 0_1 checkpoint is from before the hand-over.
  const back = appFor({ topology, registry, backend, events }, oneDir);
  await back.start();
  assert.deepEqual([two.taskIds(), back.taskIds()], [['0_0'], ['0_1']]);
  // Progress is in changelog offsets: back replays 2 (the missed record and its commit marker) of the 5.
  assert.deepEqual(restored, ['0_0:0', '0_1:2'], 'two had nothing to restore; back only what it missed');
  assert.deepEqual(await backend.endOffsets('rb-counts-changelog'), [0, 5]);
  assert.equal(await back.store('counts', 1)!.get(keyOn(1, 2)), 1);
  assert.equal(await back.store('counts', 1)!.get(keyOn(1, 0)), 2);
  assert.equal(await back.store('counts', 1)!.get(keyOn(1, 1)), 1);
  await two.stop();
  await back.stop();
});

test('an instance whose task fails to start leaves the group, and the others take its partitions', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const { topology, registry } = counter('exactly_once', 'memory');
  const one = appFor({ topology, registry, backend }, dirs.dir('one'));
  await one.start();
  // The second instance's processors cannot start (say, a bad local setting): its first onAssigned fails.
  const broken = registryOf({
    count: proc(
      () => {},
      () => {
        throw new Error('cannot init');
      },
    ),
  });
  const two = appFor({ topology, registry: broken, backend }, dirs.dir('two'));
  await two.start();
  assert.equal(two.state, 'failed');
  assert.match(two.error!.message, /cannot init/);
  assert.deepEqual(one.taskIds(), ['0_0', '0_1'], 'the failed instance holds no partition');
  const producer = await backend.producer();
  const keys = [keyOn(0, 0), keyOn(1, 0)];
  await producer.send(keys.map((k) => ({ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') })));
  await backend.runUntilIdle();
  assert.deepEqual(text(readAll(backend, 'out')).sort(), [`${keys[0]}=0_0:1`, `${keys[1]}=0_1:1`].sort());
  await two.stop();
  await one.stop();
});

test('a task that fails to start releases what it opened, so the same state dir can be used again', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const { topology, registry } = counter('exactly_once', 'rocksdb');
  let failInit = true;
  const flaky = registryOf({
    count: proc(
      () => {},
      () => {
        if (failInit) throw new Error('cannot init');
      },
    ),
  });
  const dir = dirs.dir('same');
  const first = appFor({ topology, registry: flaky, backend }, dir);
  await first.start();
  assert.equal(first.state, 'failed');
  await first.stop();
  failInit = false;
  const second = appFor({ topology, registry, backend }, dir);
  await second.start();
  assert.equal(second.error, undefined);
  assert.deepEqual(second.taskIds(), ['0_0', '0_1']);
  await second.stop();
});

test('a task fenced while its partition stays assigned is created again and counts on from its last commit', async () => {
  // A zombie's view: a peer initialised the task's producer (fencing it) and the group then handed the partition
  // back, or never took it. No rebalance is coming, so only the app's rejoin brings the task back.
  const backend = new MemoryBackend({ mode: 'manual' });
  const { topology, registry } = counter('exactly_once', 'rocksdb');
  const created: string[] = [];
  const closed: string[] = [];
  const events = {
    taskCreated: (id: string) => void created.push(id),
    taskClosed: (id: string) => void closed.push(id),
  };
  const producer = await backend.producer();
  const produce = async (keys: string[]) => {
    await producer.send(keys.map((k) => ({ topic: 'in', key: Buffer.from(k), value: Buffer.from('x') })));
    await backend.runUntilIdle();
  };
  const app = appFor({ topology, registry, backend, events }, dirs.dir('fenced'));
  await app.start();
  const [a0, a1] = [keyOn(0, 0), keyOn(1, 0)];
  await produce([a0, a1]);
  created.length = 0;

  const usurper = await backend.transactionalProducer(`${app.application}-0_0`);
  await produce([a0, a1]); // 0_0's commit is fenced: its output aborts, the task closes and the app rejoins
  await produce([a0]);
  await usurper.close();

  assert.equal(app.state, 'running');
  assert.ok(closed.includes('0_0'), `0_0 was never closed (closed: ${closed.join(', ')})`);
  assert.ok(created.includes('0_0'), `0_0 was never created again (created: ${created.join(', ')})`);
  assert.deepEqual(app.taskIds(), ['0_0', '0_1']);
  assert.deepEqual(await entries(app, 0), [[a0, 3]]);
  assert.deepEqual(await entries(app, 1), [[a1, 2]]);
  const out = text(readAll(backend, 'out'));
  assert.deepEqual(
    out.filter((o) => o.startsWith(`${a0}=`)),
    [`${a0}=0_0:1`, `${a0}=0_0:2`, `${a0}=0_0:3`],
  );
  assert.deepEqual(
    out.filter((o) => o.startsWith(`${a1}=`)),
    [`${a1}=0_1:1`, `${a1}=0_1:2`],
  );
  assert.deepEqual(await backend.committedOffsets('rb', 'in'), [3, 2]);
  await app.stop();
});
