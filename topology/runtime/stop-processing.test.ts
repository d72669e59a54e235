/**
 * Stopping does not wait for the whole input buffer (issue #7, the network-delay chaos test: a replica whose
 * every commit paid several delayed round trips took 30 s to 3 min to stop on SIGTERM, working through its buffered
 * records first). Like a Kafka Streams thread at shutdown, a task asked to stop finishes the record in hand, commits
 * what it processed and takes no more; the rest is fetched again from the committed offsets by whoever owns the
 * partition next, so nothing is lost or applied twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PartitionOffset } from '../backend/types.ts';
import type { StreamTask } from './task.ts';
import { inputRecords as records, logTask } from './testing.ts';

test('a task asked to stop finishes the record in hand, commits what it processed, and takes no more', async () => {
  const processed: string[] = [];
  const committed: PartitionOffset[][] = [];
  const holder: { task?: StreamTask } = {};
  const task = (holder.task = logTask(
    'stopping',
    (r) => {
      processed.push(String(r.value));
      if (processed.length === 3) holder.task!.stopProcessing(); // SIGTERM arrives while the third is processed
    },
    async (_records, offsets) => void committed.push(offsets),
  ));
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
