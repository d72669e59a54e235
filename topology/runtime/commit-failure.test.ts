/**
 * A failed commit corrupts the task (exactly-once, issue #7's broker chaos): its stores dropped the writes of
 * what it processed since the last commit, but its processors' memory, consumed offsets and outputs still hold
 * them, so it must neither process nor commit again, and it closes without committing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackendRecord, OutgoingRecord, PartitionOffset } from '../backend/types.ts';
import { TopologyBuilder } from '../builder.ts';
import { ManualClock } from './clock.ts';
import { topicSerdes } from './serdes.ts';
import { StreamTask } from './task.ts';
import { proc, registryOf, serdes } from './testing.ts';

function records(from: number, count: number): BackendRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 'in',
    partition: 0,
    offset: from + i,
    key: Buffer.from('k'),
    value: Buffer.from(`v${from + i}`),
    timestamp: from + i,
    headers: {},
  }));
}

test('after a failed commit a task processes and commits nothing more, and closes without committing', async () => {
  const topology = new TopologyBuilder('corrupt')
    .topic({ name: 'in', partitions: 1, key: 'string', value: 'string' })
    .source('in-src', ['in'])
    .processor('log', { processor: 'log', parents: ['in-src'] })
    .build();
  const processed: string[] = [];
  const commits: { records: OutgoingRecord[]; offsets: PartitionOffset[] }[] = [];
  let failNext = true;
  const task = new StreamTask({
    topology,
    subtopology: topology.subtopologies[0]!,
    partition: 0,
    registry: registryOf({ log: proc((r) => void processed.push(String(r.value))) }),
    serdes: topicSerdes(topology, serdes()),
    clock: new ManualClock(0),
    output: {
      commit: async (records, offsets) => {
        commits.push({ records, offsets });
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('Failed to find group coordinator'), { retriable: false });
        }
      },
      close: async () => {},
    },
    stores: [],
    startOffsets: [0],
    endOffsets: [0],
    maxTaskIdleMs: 0,
    events: {},
  });
  await task.init();
  await assert.rejects(task.enqueue('in', records(0, 2), 2, 2), /Failed to find group coordinator/);
  assert.deepEqual(processed, ['v0', 'v1']);
  await task.enqueue('in', records(2, 2), 4, 4);
  assert.deepEqual(processed, ['v0', 'v1'], 'a corrupted task processes nothing more');
  await task.close(new Map());
  assert.equal(commits.length, 1, 'and commits nothing more, on close neither: offsets past lost writes never commit');
});
