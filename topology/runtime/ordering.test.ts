/**
 * Event-time order across the co-partitioned topics of one task, and maxTaskIdleMs with a manual clock. A task
 * waits while a partition is known to hold more than it fetched; maxTaskIdleMs caps that wait (for a partition
 * held back by a transaction that does not end). Tested on a StreamTask driven by hand, and end to end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendRecord } from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import { ManualClock } from './clock.ts';
import { topicSerdes } from './serdes.ts';
import { StreamTask } from './task.ts';
import { driverFor, proc, registryOf, serdes, stateRoot } from './testing.ts';

const dirs = stateRoot('ordering');

/** Topics a and b (string values) into one processor that logs `<topic>@<timestamp>`. */
function joined(log: string[]) {
  const topology = new TopologyBuilder('order')
    .topic({ name: 'a', partitions: 1, key: 'string', value: 'string' })
    .topic({ name: 'b', partitions: 1, key: 'string', value: 'string' })
    .source('a-in', ['a'])
    .source('b-in', ['b'])
    .processor('log', { processor: 'log', parents: ['a-in', 'b-in'] })
    .build();
  const registry = registryOf({
    log: proc((r, ctx) => void log.push(`${ctx.recordMetadata!.topic}@${r.timestamp}`)),
  });
  return { topology, registry };
}

function task(log: string[], clock: ManualClock, endOffsets: number[], maxTaskIdleMs: number): StreamTask {
  const { topology, registry } = joined(log);
  return new StreamTask({
    topology,
    subtopology: topology.subtopologies[0]!,
    partition: 0,
    registry,
    serdes: topicSerdes(topology, serdes()),
    clock,
    output: { commit: async () => {}, close: async () => {} },
    stores: [],
    startOffsets: [0, 0],
    endOffsets,
    maxTaskIdleMs,
    events: {},
  });
}

function batch(topic: string, from: number, timestamps: number[]): BackendRecord[] {
  return timestamps.map((timestamp, i) => ({
    topic,
    partition: 0,
    offset: from + i,
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    timestamp,
    headers: {},
  }));
}

test('a task waits for a partition known to hold data and then merges by timestamp, with no clock', async () => {
  const log: string[] = [];
  const clock = new ManualClock(0);
  const t = task(log, clock, [2, 2], 100);
  await t.init();
  await t.enqueue('a', batch('a', 0, [5, 15]), 2, 2);
  assert.deepEqual(log, [], 'b holds two records the task has not seen yet');
  await t.enqueue('b', batch('b', 0, [1, 20]), 2, 2);
  assert.deepEqual(log, ['b@1', 'a@5', 'a@15', 'b@20']);
  await t.close();
});

test('maxTaskIdleMs caps the wait; the idle timer starts again once the task caught up', async () => {
  const log: string[] = [];
  const clock = new ManualClock(1000);
  const t = task(log, clock, [0, 2], 100);
  await t.init();
  await t.enqueue('a', batch('a', 0, [5, 15]), 2, 2);
  clock.advance(99);
  await t.run();
  assert.deepEqual(log, []);
  clock.advance(1);
  await t.run();
  assert.deepEqual(log, ['a@5', 'a@15'], 'after maxTaskIdleMs the task processes what it has');
  await t.enqueue('b', batch('b', 0, [1, 20]), 2, 2);
  assert.deepEqual(log.slice(2), ['b@1', 'b@20'], 'late records are processed, not dropped');
  // b's end moved on (4) but the batch stopped at 3: waiting again, with a fresh timer.
  await t.enqueue('b', batch('b', 2, [30]), 4, 3);
  await t.enqueue('a', batch('a', 2, [25]), 3, 3);
  assert.deepEqual(log.slice(4), ['b@30'], 'a@25 waits: b may still hold something older');
  clock.advance(50);
  await t.run();
  assert.deepEqual(log.slice(5), []);
  // The rest of b was a transaction marker: the position passes it and the task goes on at once.
  await t.advance('b', 4, 4);
  assert.deepEqual(log.slice(5), ['a@25']);
  await t.close();
});

test('end to end: an open transaction on one input does not hold the other input (read_committed)', async () => {
  // Its records cannot be fetched until it ends, so waiting for them would stall the task behind another
  // producer's transaction (bench/hop-latency.ts --suite two-inputs measured 200 ms per open transaction).
  for (const outcome of ['commit', 'abort'] as const) {
    const log: string[] = [];
    const { topology, registry } = joined(log);
    const d = await driverFor(topology, registry, dirs.dir(`open-${outcome}`), { maxTaskIdleMs: 1000, wallClockMs: 0 });
    await d.pipeInputs('b', [{ key: 'k', value: 'b1', timestamp: 1 }], { process: false });
    const upstream = await d.backend.transactionalProducer('upstream');
    await upstream.begin();
    await upstream.send([{ topic: 'b', key: Buffer.from('k'), value: Buffer.from('b2'), timestamp: 2 }]);
    await d.pipeInput('a', 'k', 'a5', { timestamp: 5 });
    assert.deepEqual(log, ['b@1', 'a@5'], 'a@5 is processed without waiting for the open transaction');
    await (outcome === 'commit' ? upstream.commit() : upstream.abort());
    await d.settle();
    assert.deepEqual(log, outcome === 'commit' ? ['b@1', 'a@5', 'b@2'] : ['b@1', 'a@5'], outcome);
    await d.close();
  }
});

test('end to end: records already on both topics are merged by timestamp whatever the topic names', async () => {
  for (const [early, late] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    const log: string[] = [];
    const { topology, registry } = joined(log);
    const d = await driverFor(topology, registry, dirs.dir(`both-${early}`));
    await d.pipeInputs(
      late,
      [
        { key: 'k', value: 'x', timestamp: 20 },
        { key: 'k', value: 'x', timestamp: 30 },
      ],
      { process: false },
    );
    await d.pipeInputs(
      early,
      [
        { key: 'k', value: 'x', timestamp: 10 },
        { key: 'k', value: 'x', timestamp: 25 },
      ],
      { process: false },
    );
    await d.settle();
    assert.deepEqual(log, [`${early}@10`, `${late}@20`, `${early}@25`, `${late}@30`], `early topic ${early}`);
    await d.close();
  }
});
