/**
 * Stopping does not wait for the whole input buffer (issue #7, the network-delay chaos test: a replica whose
 * every commit paid several delayed round trips took 30 s to 3 min to stop on SIGTERM, working through its buffered
 * records first). Like a Kafka Streams thread at shutdown, a task asked to stop finishes the record in hand, commits
 * what it processed and takes no more; the rest is fetched again from the committed offsets by whoever owns the
 * partition next, so nothing is lost or applied twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendRecord, PartitionOffset } from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import { ManualClock } from './clock.ts';
import { topicSerdes } from './serdes.ts';
import { StreamTask } from './task.ts';
import { proc, registryOf, serdes } from './testing.ts';

const records = (from: number, count: number): BackendRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    topic: 'in',
    partition: 0,
    offset: from + i,
    key: Buffer.from('k'),
    value: Buffer.from(`v${from + i}`),
    timestamp: from + i,
    headers: {},
  }));

test('a task asked to stop finishes the record in hand, commits what it processed, and takes no more', async () => {
  const topology = new TopologyBuilder('stopping')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .source('in-src', ['in'])
    .processor('log', { processor: 'log', parents: ['in-src'] })
    .build();
  const processed: string[] = [];
  const committed: PartitionOffset[][] = [];
  const holder: { task?: StreamTask } = {};
  const registry = registryOf({
    log: proc((r) => {
      processed.push(String(r.value));
      if (processed.length === 3) holder.task!.stopProcessing(); // SIGTERM arrives while the third record is processed
    }),
  });
  const task = (holder.task = new StreamTask({
    topology,
    subtopology: topology.subtopologies[0]!,
    partition: 0,
    registry,
    serdes: topicSerdes(topology, serdes()),
    clock: new ManualClock(0),
    output: { commit: async (_records, offsets) => void committed.push(offsets), close: async () => {} },
    stores: [],
    startOffsets: [0],
    endOffsets: [0],
    maxTaskIdleMs: 0,
    events: {},
  }));
  await task.init();
  await task.enqueue('in', records(0, 10), 10, 10);
  assert.deepEqual(processed, ['v0', 'v1', 'v2'], 'the rest of the buffer stays unprocessed');
  assert.deepEqual(
    committed.at(-1),
    [{ topic: 'in', partition: 0, offset: 3 }],
    'the offset after the last one processed',
  );
  await task.enqueue('in', records(10, 2), 12, 12);
  assert.equal(processed.length, 3, 'a stopping task takes no new records');
  await task.close(new Map());
  assert.deepEqual(committed.at(-1), [{ topic: 'in', partition: 0, offset: 3 }]);
});
