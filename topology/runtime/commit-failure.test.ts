/**
 * A failed commit corrupts the task (exactly-once, issue #7's broker chaos): its stores dropped the writes of
 * what it processed since the last commit, but its processors' memory, consumed offsets and outputs still hold
 * them, so it must neither process nor commit again, and it closes without committing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutgoingRecord, PartitionOffset } from '../backend/types.ts';
import { inputRecords as records, logTask } from './testing.ts';

test('after a failed commit a task processes and commits nothing more, and closes without committing', async () => {
  const processed: string[] = [];
  const commits: { records: OutgoingRecord[]; offsets: PartitionOffset[] }[] = [];
  let failNext = true;
  const task = logTask(
    'corrupt',
    (r) => void processed.push(String(r.value)),
    async (records, offsets) => {
      commits.push({ records, offsets });
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error('Failed to find group coordinator'), { retriable: false });
      }
    },
  );
  await task.init();
  await assert.rejects(task.enqueue('in', records(0, 2), 2, 2), /Failed to find group coordinator/);
  assert.deepEqual(processed, ['v0', 'v1']);
  await task.enqueue('in', records(2, 2), 4, 4);
  assert.deepEqual(processed, ['v0', 'v1'], 'a corrupted task processes nothing more');
  await task.close(new Map());
  assert.equal(commits.length, 1, 'and commits nothing more, on close neither: offsets past lost writes never commit');
});
