/**
 * Back-pressure (app.ts #onBatch, #resumeDrained): a partition whose task holds more than maxBufferedRecords of
 * it is paused, and resumed once the task drained it to half; every record is still processed exactly once, in
 * event-time order. A pause must not outlive a rebalance that takes the partition away.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBackend } from '../backend/memory/backend.ts';
import type { TopicPartition } from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import { ManualClock } from './clock.ts';
import { appFor, Gate, proc, registryOf, stateRoot, wrapBackend } from './testing.ts';

const dirs = stateRoot('back-pressure');

/** Topics a and b into one processor that logs `<value>` after awaiting `hold` (if set). */
function joined(log: string[], hold?: () => Promise<void>) {
  const topology = new TopologyBuilder('bp')
    .topic({ name: 'a', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'b', partitions: 1, key: 'string', value: 'string' })
    .source('a-in', ['a'])
    .source('b-in', ['b'])
    .processor('log', { processor: 'log', parents: ['a-in', 'b-in'] })
    .build();
  const registry = registryOf({
    log: proc(async (r) => {
      await hold?.();
      log.push(String(r.value));
    }),
  });
  return { topology, registry };
}

/** Records what the runtime asks of its group member, and the batches it is handed. */
function spy(backend: MemoryBackend) {
  const calls: string[] = [];
  const name = (tps: TopicPartition[]) => tps.map((tp) => `${tp.topic}/${tp.partition}`).join(',');
  const wrapped = wrapBackend(backend, {
    member: (member) => ({
      ...member,
      groupId: member.groupId,
      pause: (tps) => {
        calls.push(`pause ${name(tps)}`);
        member.pause(tps);
      },
      resume: (tps) => {
        calls.push(`resume ${name(tps)}`);
        member.resume(tps);
      },
    }),
    handler: (handler) => ({
      ...handler,
      onBatch: (batch) => {
        calls.push(`batch ${batch.topic}:${batch.records.length}`);
        return handler.onBatch(batch);
      },
    }),
  });
  return { calls, wrapped };
}

async function produce(backend: MemoryBackend, topic: string, values: [string, number][]): Promise<void> {
  const producer = await backend.producer();
  await producer.send(
    values.map(([v, timestamp]) => ({ topic, key: Buffer.from('k'), value: Buffer.from(v), timestamp })),
  );
}

const series = (prefix: string, n: number, step: number): [string, number][] =>
  Array.from({ length: n }, (_, i) => [`${prefix}${(i + 1) * step}`, (i + 1) * step]);

test('a partition is paused while its records wait in the task and resumed once drained', async () => {
  const backend = new MemoryBackend({ mode: 'manual', maxBatchRecords: 2 });
  const { calls, wrapped } = spy(backend);
  const log: string[] = [];
  const options = { ...joined(log), backend: wrapped, maxBufferedRecords: 3, maxTaskIdleMs: 10_000 };
  const app = appFor({ ...options, clock: new ManualClock(0) }, dirs.dir('drain'));
  // Both topics hold data before the task exists, so it waits for b while a's batches come in.
  await backend.createTopics(options.topology.spec.topics);
  await produce(backend, 'a', series('a', 8, 10));
  await produce(backend, 'b', [['b5', 5]]);
  await app.start();
  await backend.runUntilIdle();
  // Without the pause the default delivery order would hand over all of a before b.
  assert.deepEqual(calls, ['batch a:2', 'batch a:2', 'pause a/0', 'batch b:1', 'resume a/0', 'batch a:2', 'batch a:2']);
  assert.deepEqual(log, ['b5', ...series('a', 8, 10).map(([v]) => v)]);
  await app.stop();
});

test('a batch larger than the limit pauses its partition while processing is held, then resumes', async () => {
  const backend = new MemoryBackend({ mode: 'manual' });
  const { calls, wrapped } = spy(backend);
  const log: string[] = [];
  const gate = new Gate();
  const app = appFor({ ...joined(log, () => gate.wait()), backend: wrapped, maxBufferedRecords: 3 }, dirs.dir('g'));
  await app.start();
  await produce(backend, 'a', series('a', 10, 1));
  const delivering = backend.runUntilIdle();
  await gate.reached; // the first record is being processed; nine more wait in the task
  assert.deepEqual(calls, ['batch a:10', 'pause a/0']);
  assert.deepEqual(log, []);
  await produce(backend, 'a', series('x', 2, 100));
  gate.open();
  await delivering;
  assert.deepEqual(calls, ['batch a:10', 'pause a/0', 'resume a/0', 'batch a:2']);
  assert.deepEqual(
    log,
    [...series('a', 10, 1), ...series('x', 2, 100)].map(([v]) => v),
  );
  assert.deepEqual(await backend.committedOffsets('bp', 'a'), [12]);
  await app.stop();
});

test('a partition paused when a rebalance takes it away is delivered again when it comes back', async () => {
  const backend = new MemoryBackend({ mode: 'manual', maxBatchRecords: 2 });
  const { calls, wrapped } = spy(backend);
  const log: string[] = [];
  const clock = new ManualClock(0);
  const options = { ...joined(log), backend: wrapped, maxBufferedRecords: 3, maxTaskIdleMs: 10_000, clock };
  // b holds two committed records the task knows of but cannot fetch yet (a slow fetch): it waits for b while
  // a piles up.
  backend.hold('b');
  await backend.createTopics(options.topology.spec.topics);
  await produce(backend, 'b', [
    ['b1', 1],
    ['b2', 2],
  ]);
  await produce(backend, 'a', series('a', 8, 10));
  const one = appFor(options, dirs.dir('one'));
  await one.start();
  await backend.runUntilIdle();
  assert.deepEqual(calls.slice(-3), ['batch a:2', 'batch a:2', 'pause a/0']);
  assert.deepEqual(log, []);

  // A second instance joins: eager rebalance; with one partition the first instance gets it back, paused no more.
  const two = appFor({ ...options, backend }, dirs.dir('two'));
  await two.start();
  assert.deepEqual([one.taskIds(), two.taskIds()], [['0_0'], []]);
  backend.release('b');
  await backend.runUntilIdle();
  assert.deepEqual(log, ['b1', 'b2', ...series('a', 8, 10).map(([v]) => v)]);
  assert.deepEqual(await backend.committedOffsets('bp', 'a'), [8]);
  await one.stop();
  await two.stop();
});
